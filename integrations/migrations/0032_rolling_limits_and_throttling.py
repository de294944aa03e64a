"""Per-day limits in messages or recipients; the pause a throttling reply sets."""

from django.db import migrations, models


# Exchange Online counts its daily limit in recipients: integrations already sending through
# it keep their limit's number and now count it the way Microsoft does.
EXCHANGE_HOSTS = ("smtp.office365.com", "smtp-legacy.office365.com")


def count_recipients_on_exchange(apps, schema_editor):
    integration = apps.get_model("integrations", "SmtpIntegration")
    integration.objects.filter(host__in=EXCHANGE_HOSTS).update(daily_limit_counts="recipients")


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0031_bounce_mailbox'),
    ]

    operations = [
        migrations.AddField(
            model_name='smtpintegration',
            name='daily_limit_counts',
            field=models.CharField(choices=[('messages', 'messages'), ('recipients', 'recipients')], default='messages', help_text='Microsoft 365 counts recipients (10,000 a day); Gmail counts messages.', max_length=10, verbose_name='the per-day limit counts'),
        ),
        migrations.AddField(
            model_name='smtpintegration',
            name='throttled_reason',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name='smtpintegration',
            name='throttled_until',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AlterField(
            model_name='smtpintegration',
            name='rate_limit_per_day',
            field=models.PositiveIntegerField(blank=True, help_text='Messages or recipients (below) in any rolling 24 hours, shared by all workers; mail over the limit waits, it is not failed.', null=True, verbose_name='per-day limit'),
        ),
        migrations.AlterField(
            model_name='smtpintegration',
            name='rate_limit_per_minute',
            field=models.PositiveIntegerField(blank=True, help_text="Held over every rolling 60 seconds by all workers together, sent evenly spaced. Empty: no limit. Presets fill the provider's limit.", null=True, verbose_name='messages per minute'),
        ),
        migrations.RunPython(count_recipients_on_exchange, migrations.RunPython.noop),
    ]
