from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    # The admin's breadcrumb reads "Integrations › SMTP integrations", not the name twice.
    verbose_name = "Integrations"
