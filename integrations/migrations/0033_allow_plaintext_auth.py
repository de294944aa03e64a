"""Allow plaintext AUTH: off for every integration, so one without TLS stops before AUTH
until staff turn TLS on or allow it (a local relay); the session says so in its catalog error."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0032_rolling_limits_and_throttling"),
    ]

    operations = [
        migrations.AddField(
            model_name="smtpintegration",
            name="allow_plaintext_auth",
            field=models.BooleanField(
                default=False,
                help_text="Warning: with Use TLS off, this sends the password or OAuth2 token in clear text, readable by anyone on the network path. Tick it only for a relay on this machine or a network you trust. Off: a session without TLS stops before AUTH.",
                verbose_name="allow plaintext AUTH",
            ),
        ),
    ]
