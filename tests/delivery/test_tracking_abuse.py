"""Tracking endpoints under abuse: unguessable tokens, bounded events, no HTML read per hit.

Issue 15 item 9 and acceptance 4. What a hit may add is decided in Redis (one open per
message and one click per link per window, so many events per message an hour); the redirect
and the pixel answer all the same.
"""

from __future__ import annotations

import importlib
import re
import secrets
import time
from html.parser import HTMLParser

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from django.apps import apps
from django.core import signing
from django.db import connection

from delivery.api import send_email
from delivery.models import Message, TrackingEvent
from delivery.tracking import recording
from delivery.tracking.links import click_token, open_token
from delivery.tracking.signed_tokens import CLICK_SALT, OPEN_SALT
from delivery.tracking.tokenizer import Tokenizer
from tests.conftest import wait_until
from tests.factories import make_integration

pytestmark = pytest.mark.django_db
LINKS = "".join(f'<a href="https://shop.example/item/{n}">item {n}</a>' for n in range(30))


@pytest.fixture(autouse=True)
def integration():
    return make_integration()


def send(html: str = LINKS) -> Message:
    return send_email(to="bob@example.org", subject="Hi", html=html, kind="marketing")


@pytest.fixture
def parsing_calls(monkeypatch) -> list[str]:
    """Every start of HTML tokenizing (the finder's and the former html.parser's)."""
    calls: list[str] = []
    iterate, feed = Tokenizer.__iter__, HTMLParser.feed

    def counted_iter(self):
        calls.append("tokenizer")
        return iterate(self)

    def counted_feed(self, data):
        calls.append("html.parser")
        return feed(self, data)

    monkeypatch.setattr(Tokenizer, "__iter__", counted_iter)
    monkeypatch.setattr(HTMLParser, "feed", counted_feed)
    return calls


class StatementCounter:
    """Counts the statements run, and those that look a message up by its tracking key."""

    def __init__(self) -> None:
        self.statements = self.key_lookups = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        self.key_lookups += '"tracking_key" =' in sql
        return execute(sql, params, many, context)


# Acceptance 4 is the click: it used to parse the stored HTML on every hit.
@pytest.mark.parametrize(("kind", "hits"), [("click", 10_000), ("open", 1_000)])
def test_hammering_one_token_adds_a_bounded_number_of_events_and_parses_no_html(
    kind, hits, client, settings, parsing_calls
):
    message = send()
    path = (f"/t/c/{click_token(message, 3)}/" if kind == "click"
            else f"/t/o/{open_token(message)}.gif")
    window = (settings.TRACKING_CLICK_WINDOW_SECONDS if kind == "click"
              else settings.TRACKING_OPEN_WINDOW_SECONDS)
    parsing_calls.clear()
    counter = StatementCounter()
    started = time.monotonic()
    with connection.execute_wrapper(counter):
        statuses = {client.get(path).status_code for _ in range(hits)}
    elapsed = time.monotonic() - started
    events = TrackingEvent.objects.filter(message=message, kind=kind).count()
    print(f"\n{hits} {kind} hits with one token: {elapsed:.1f} s, {events} event(s), "
          f"{counter.statements} statements, {len(parsing_calls)} HTML parses")
    assert statuses == ({302} if kind == "click" else {200})
    # One event per window the hammering spanned, and never over the hourly share.
    assert 1 <= events <= min(1 + int(elapsed // window), settings.TRACKING_EVENTS_PER_HOUR)
    assert parsing_calls == []
    # Each hit is one lookup by the key's unique index; a counted hit adds an INSERT and an
    # UPDATE, a hit not counted nothing.
    assert counter.key_lookups == hits
    assert counter.statements == hits + 2 * events
    message.refresh_from_db()
    assert (message.click_count if kind == "click" else message.open_count) == events


def test_a_new_window_counts_again_and_the_first_open_time_stays(client, settings):
    settings.TRACKING_OPEN_WINDOW_SECONDS = 1
    message = send()
    pixel = f"/t/o/{open_token(message)}.gif"
    client.get(pixel), client.get(pixel)
    message.refresh_from_db()
    first_opened = message.first_opened_at
    assert message.open_count == 1 and first_opened is not None

    def opened_twice() -> bool:
        client.get(pixel)
        return Message.objects.get(pk=message.pk).open_count == 2

    wait_until(opened_twice, timeout=5, message="the next window's open was not counted")
    message.refresh_from_db()
    assert message.first_opened_at == first_opened
    assert TrackingEvent.objects.filter(message=message, kind="open").count() == 2


def test_each_link_counts_once_a_window_and_the_message_only_so_many_an_hour(client, settings):
    settings.TRACKING_EVENTS_PER_HOUR = 10
    message = send()
    tokens = [click_token(message, index) for index in range(30)]
    responses = [client.get(f"/t/c/{token}/") for token in tokens + tokens]
    assert [r["Location"] for r in responses[:3]] == [
        "https://shop.example/item/0", "https://shop.example/item/1", "https://shop.example/item/2",
    ]
    assert {r.status_code for r in responses} == {302}
    clicked = TrackingEvent.objects.filter(message=message, kind="click")
    assert sorted(clicked.values_list("url", flat=True)) == sorted(
        f"https://shop.example/item/{n}" for n in range(10)
    )
    # Another message has its own share.
    other = send()
    assert client.get(f"/t/c/{click_token(other, 0)}/").status_code == 302
    assert TrackingEvent.objects.filter(message=other).count() == 1


def test_without_redis_the_redirect_still_answers_and_nothing_is_counted(
    client, monkeypatch, caplog
):
    message = send()
    unreachable = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(recording, "redis_client", lambda: unreachable)
    response = client.get(f"/t/c/{click_token(message, 0)}/")
    assert response.status_code == 302
    assert client.get(f"/t/o/{open_token(message)}.gif").status_code == 200
    assert not TrackingEvent.objects.exists()
    assert "not counted: Redis" in caplog.text


def test_tokens_name_no_id_and_an_enumerated_or_forged_one_is_a_404(client, settings):
    first, second = send(), send()
    assert first.tracking_key != second.tracking_key
    assert re.fullmatch(r"[0-9a-f]{32}", first.tracking_key)
    assert str(first.pk) not in click_token(first, 0).removeprefix(first.tracking_key)
    guessed = secrets.token_hex(16)
    # Signed with the deployment's own SECRET_KEY, as whoever knows it could: refused, as
    # every message rendered since the keys exist is named by its key only.
    forged_click = signing.dumps([first.pk, 0], salt=CLICK_SALT, compress=True)
    forged_open = signing.dumps(first.pk, salt=OPEN_SALT)
    for path in [f"/t/c/{guessed}.0/", f"/t/o/{guessed}.gif", f"/t/c/{forged_click}/",
                 f"/t/o/{forged_open}.gif", f"/t/o/{first.pk}.gif", f"/t/c/{first.pk}.0/"]:
        assert client.get(path).status_code == 404, path
    assert client.get(f"/t/c/{click_token(first, 0)}/").status_code == 302
    assert TrackingEvent.objects.count() == 1


def test_a_key_is_the_second_it_was_made_then_96_random_bits():
    before = int(time.time())
    keys = [send().tracking_key for _ in range(3)]
    # The second in front keeps the unique index's writes on its newest pages.
    assert all(before <= int(key[:8], 16) <= int(time.time()) for key in keys)
    assert len({key[8:] for key in keys}) == 3


def test_signed_tokens_in_mail_sent_before_the_keys_still_work_for_that_mail(client):
    message = send()
    Message.objects.filter(pk=message.pk).update(signed_tracking_tokens=True)
    click = signing.TimestampSigner(salt=CLICK_SALT).sign_object([message.pk, 2], compress=True)
    assert client.get(f"/t/c/{click}/")["Location"] == "https://shop.example/item/2"
    assert client.get(f"/t/o/{signing.dumps(message.pk, salt=OPEN_SALT)}.gif").status_code == 200
    assert TrackingEvent.objects.filter(message=message).count() == 2


@pytest.mark.parametrize("stored", ["http://[::1", "javascript:alert(1)", 5, None])
def test_a_stored_url_no_browser_would_follow_is_a_404_never_a_500(stored, client):
    message = send('<a href="https://x.example/">x</a>')
    Message.objects.filter(pk=message.pk).update(tracked_urls=[stored])
    assert client.get(f"/t/c/{click_token(message, 0)}/").status_code == 404
    assert not TrackingEvent.objects.exists()


def test_the_migration_gives_every_row_a_key_and_marks_mail_already_sent():
    sent, waiting = send(), send()
    Message.objects.filter(pk=sent.pk).update(attempt_count=1)
    migration = importlib.import_module("delivery.migrations.0033_message_tracking_key")
    with connection.schema_editor(atomic=False) as editor:
        # As before the migration (the test's transaction undoes it): rows without a key.
        editor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no ALTER with pending FK checks
        editor.execute('ALTER TABLE "delivery_message" ALTER COLUMN "tracking_key" DROP NOT NULL')
        Message.objects.update(tracking_key=None)
        migration.fill_tracking_keys(apps, editor)
    keys = dict(Message.objects.values_list("pk", "tracking_key"))
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys.values())
    assert len(set(keys.values())) == len(keys) == 2
    marked = Message.objects.filter(signed_tracking_tokens=True)
    assert list(marked.values_list("pk", flat=True)) == [sent.pk]
    assert waiting.pk in keys
