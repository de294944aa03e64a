from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        from . import receivers
        from .health import register_probes

        receivers.connect()
        register_probes()
