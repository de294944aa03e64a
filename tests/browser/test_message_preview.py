"""The portal's HTML preview in Chromium: the message shows, its remote images do not load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.contrib.auth import get_user_model
from django.utils import timezone

from delivery.models import Message, Status
from tests.browser.conftest import log_in
from tests.factories import make_integration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A 1x1 GIF, inline: images that travel with the message still show.
DATA_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="


@pytest.fixture
def tracker() -> Iterator[tuple[str, list[str]]]:
    """A web server standing in for a sender's tracker: it records every path asked for."""
    asked: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def test_the_preview_loads_no_remote_image_style_or_font(page, tracker):
    base, asked = tracker
    requests.get(f"{base}/reachable", timeout=5)  # the tracker does answer, and records
    assert asked == ["/reachable"]
    asked.clear()
    get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pass-123")
    now = timezone.now()
    message = Message.objects.create(
        integration=make_integration(), from_email="news@example.com", to=["ops@example.com"],
        subject="Newsletter", text="Hi", status=Status.SENT, next_attempt_at=now,
        deadline=now + timedelta(days=1), sent_at=now,
        html=(f'<link rel="stylesheet" href="{base}/style.css">'
              f'<style>@font-face {{font-family: t; src: url({base}/font.woff)}}'
              f' p {{font-family: t}}</style>'
              f'<p id="greeting" style="background: url({base}/background.gif)">Hello Ops</p>'
              f'<img id="pixel" src="{base}/pixel.gif?recipient=ops">'
              f'<img id="inline" src="{DATA_GIF}">'),
    )
    log_in(page, "ops", "ops-pass-123")
    page.goto(f"/portal/messages/{message.pk}/")  # returns once the iframe has loaded too
    preview = page.frame_locator("iframe.body")
    assert preview.locator("#greeting").inner_text() == "Hello Ops"
    # A blocked image is complete with no size; the inline one has its pixel.
    sizes = preview.locator("img").evaluate_all(
        "images => images.map(i => [i.id, i.complete, i.naturalWidth])")
    assert sizes == [["pixel", True, 0], ["inline", True, 1]]
    assert asked == []
