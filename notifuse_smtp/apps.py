from django.apps import AppConfig


class NotifuseSmtpConfig(AppConfig):
    name = "notifuse_smtp"
    verbose_name = "notifuse-smtp"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401 - registers the system checks
        from .timestamp_loading import install

        connection_created.connect(install, dispatch_uid="notifuse_smtp.timestamp_loading")
