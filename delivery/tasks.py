"""Thin Celery tasks: load ids, call plain functions that tests can call directly."""

from __future__ import annotations

from celery import shared_task

from . import engine, sweeper


@shared_task(name="delivery.tasks.drain_integration", ignore_result=True)
def drain_integration(integration_id: int) -> int:
    return engine.drain(integration_id)


@shared_task(name="delivery.tasks.sweep_outbox", ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    return sweeper.sweep()


@shared_task(name="delivery.tasks.poll_bounces", ignore_result=True)
def poll_bounces() -> list[str]:
    from .bounces.polling import poll_all

    return [result.summary() for result in poll_all()]
