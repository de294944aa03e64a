"""Message.tracked_urls: where each tracked link leads, so a click never parses HTML.

Existing tracked messages get the list their click tokens were signed against: a message
already rendered (attempt_count > 0) went out with links numbered by the former finder
(html.parser, `<a>` only), kept here as it was so that links already in inboxes still lead
where they led; a message not rendered yet gets the new finder's list.
"""

from html.parser import HTMLParser

from django.conf import settings
from django.db import migrations, models

BATCH = 200


class _FormerLinkFinder(HTMLParser):
    """The finder of delivery/tracking/rewrite.py before this migration, as it numbered links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        url = (values.get("href") or "").strip()
        if tag == "a" and "data-notrack" not in values and url.lower().startswith(
            ("http://", "https://")
        ):
            self.urls.append(url)


def _former_urls(html):
    finder = _FormerLinkFinder()
    finder.feed(html)
    finder.close()
    return finder.urls


def fill_tracked_urls(apps, schema_editor):
    from delivery.tracking.finder import tracked_urls

    Message = apps.get_model("delivery", "Message")
    rows = Message.objects.filter(track=True).exclude(html="").only("html", "attempt_count")
    batch = []
    for message in rows.order_by("pk").iterator(chunk_size=BATCH):
        if message.attempt_count:
            message.tracked_urls = _former_urls(message.html)
        elif settings.TRACKING_ENABLED:
            message.tracked_urls = tracked_urls(message.html)
        else:
            continue
        batch.append(message)
        if len(batch) == BATCH:
            Message.objects.bulk_update(batch, ["tracked_urls"])
            batch = []
    Message.objects.bulk_update(batch, ["tracked_urls"])


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0030_portal_windows_and_search'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='tracked_urls',
            field=models.JSONField(blank=True, default=None, null=True),
        ),
        migrations.RunPython(fill_tracked_urls, migrations.RunPython.noop),
    ]
