"""The delivery app: its /healthz probes, and what it does when beat starts."""

from __future__ import annotations

from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        from celery.signals import beat_init

        from .health import register_probes
        from .sweeper import announce_beat

        register_probes()

        # After the project's own beat_init handler (connected when the Celery app loads),
        # which stops a beat with unsafe secrets before this runs.
        beat_init.connect(announce_beat, weak=False)
