"""The due-mail index in the claim's full order (priority, due time, then id).

Without id the planner may sort every due row of an integration for each claim when its
statistics say few are due, as on a backlog queued since the last ANALYZE: each batch then
costs the whole backlog. The new index is built before the old one goes, so claiming is
never without one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0033_message_tracking_key'),
        ('integrations', '0034_test_runs_in_a_worker'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='message',
            index=models.Index(models.F('integration'), models.OrderBy(models.F('priority'), descending=True), models.F('next_attempt_at'), models.F('id'), condition=models.Q(('status', 'queued')), name='message_due_in_claim_order'),
        ),
        migrations.RemoveIndex(
            model_name='message',
            name='message_due_by_priority',
        ),
    ]
