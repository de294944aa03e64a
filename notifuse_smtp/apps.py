from django.apps import AppConfig


class NotifuseSmtpConfig(AppConfig):
    name = "notifuse_smtp"
    verbose_name = "notifuse-smtp"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
