"""Thin Celery tasks: load ids, call plain functions that tests can call directly."""

from __future__ import annotations

from celery import shared_task

from . import engine, sweeper
from .webhooks import sending as webhook_sending


@shared_task(name="delivery.tasks.drain_integration", ignore_result=True)
def drain_integration(integration_id: int) -> int:
    return engine.drain(integration_id)


@shared_task(name="delivery.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    return sweeper.sweep()


@shared_task(name="delivery.tasks.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    return webhook_sending.deliver(delivery_id)


@shared_task(name="delivery.tasks.sweep_webhooks", ignore_result=True)
def sweep_webhooks() -> int:
    return webhook_sending.sweep()


@shared_task(name="delivery.tasks.poll_bounces", ignore_result=True)
def poll_bounces() -> list[str]:
    from .bounces.polling import poll_all

    return [result.summary() for result in poll_all()]
