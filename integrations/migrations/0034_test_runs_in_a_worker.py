"""Test integration runs in a worker: a run is stored running, with a deadline."""

from django.conf import settings
from django.db import migrations, models
import django.utils.timezone


def status_from_ok(apps, schema_editor):
    run = apps.get_model("integrations", "IntegrationTest")
    run.objects.filter(ok=True).update(status="ok")
    run.objects.filter(ok=False).update(status="failed")


def ok_from_status(apps, schema_editor):
    run = apps.get_model("integrations", "IntegrationTest")
    run.objects.filter(status="ok").update(ok=True)
    run.objects.exclude(status="ok").update(ok=False)


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0033_allow_plaintext_auth'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='integrationtest',
            name='status',
            field=models.CharField(choices=[('running', 'running'), ('ok', 'passed'), ('failed', 'failed')], default='running', max_length=10),
        ),
        migrations.AlterField(
            model_name='integrationtest',
            name='ok',
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(status_from_ok, ok_from_status),
        migrations.RemoveField(
            model_name='integrationtest',
            name='ok',
        ),
        migrations.AddField(
            model_name='integrationtest',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='integrationtest',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='integrationtest',
            name='deadline_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='integrationtest',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddIndex(
            model_name='integrationtest',
            index=models.Index(fields=['requested_by', 'created_at'], name='integrationtest_quota_idx'),
        ),
    ]
