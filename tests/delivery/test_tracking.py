"""Open and click tracking: signed links, exact redirects, events, opt-outs, RFC 8058 headers."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from django.core import signing

from delivery.api import send_email
from delivery.mime import render
from delivery.models import Message, TrackingEvent
from delivery.tracking.links import click_token
from tests.factories import make_integration

pytestmark = pytest.mark.django_db

HTML = (
    '<html><body><p>Hello</p>'
    '<a href="mailto:help@example.com">mail</a> '
    '<a href="#details">details</a> '
    '<a href="https://shop.example/cart?item=1&amp;qty=2">cart</a> '
    '<a href="https://bücher.example/straße?q=ü">books</a> '
    '<a data-notrack href="https://private.example/keep">private</a>'
    "</body></html>"
)


@pytest.fixture
def integration():
    return make_integration()


def sent_html(message: Message) -> str:
    parsed = email.message_from_bytes(render(message), policy=email.policy.default)
    return parsed.get_body(("html",)).get_content()


def click_urls(html: str) -> list[str]:
    return re.findall(r'href="(http://testserver/t/c/[^"]+)"', html)


def test_trackable_links_are_rewritten_and_others_left_alone(integration, settings, client):
    settings.TRACKING_BASE_URL = "http://testserver"
    message = send_email(to="bob@example.org", subject="Hi", html=HTML, kind="marketing")
    html = sent_html(message)
    urls = click_urls(html)
    assert len(urls) == 2
    assert 'href="mailto:help@example.com"' in html
    assert 'href="#details"' in html
    assert 'data-notrack href="https://private.example/keep"' in html
    assert re.search(r'<img src="http://testserver/t/o/[^"]+\.gif"[^>]*></body>', html)
    targets = [client.get(url.removeprefix("http://testserver")) for url in urls]
    assert [t.status_code for t in targets] == [302, 302]
    assert [t["Location"] for t in targets] == [
        "https://shop.example/cart?item=1&qty=2",
        # The same address as https://bücher.example/straße?q=ü, in the form HTTP carries.
        "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC",
    ]
    assert TrackingEvent.objects.filter(kind="click").count() == 2


def test_a_tampered_token_or_another_messages_link_is_a_404(integration, client):
    message = send_email(to="bob@example.org", subject="Hi", html=HTML)
    other = send_email(to="carol@example.org", subject="Hi", html="<a href='https://x.example'>x</a>")
    good = click_token(message, 0)
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert client.get(f"/t/c/{tampered}/").status_code == 404
    assert client.get(f"/t/c/{click_token(other, 1)}/").status_code == 404
    unsigned = signing.dumps([message.pk, 0], salt="wrong-salt", compress=True)
    assert client.get(f"/t/c/{unsigned}/").status_code == 404
    assert not TrackingEvent.objects.exists()


@pytest.mark.parametrize("switch", ["message", "global"])
def test_tracking_off_leaves_the_html_byte_for_byte(integration, settings, switch):
    settings.TRACKING_ENABLED = switch != "global"
    message = send_email(to="bob@example.org", subject="Hi", html=HTML, track=switch != "message")
    assert sent_html(message) == HTML


def test_two_pixel_loads_in_one_window_record_one_open_and_its_time(
    integration, settings, client, admin_client
):
    settings.TRACKING_BASE_URL = "http://testserver"
    message = send_email(to="bob@example.org", subject="Hi", html=HTML, track=True)
    pixel = re.search(r'<img src="http://testserver(/t/o/[^"]+)"', sent_html(message)).group(1)
    first = client.get(pixel)
    assert first.status_code == 200 and first["Content-Type"] == "image/gif"
    assert "no-cache" in first["Cache-Control"]
    message.refresh_from_db()
    opened = message.first_opened_at
    assert client.get(pixel).status_code == 200  # the image all the same
    message.refresh_from_db()
    assert message.open_count == 1
    assert message.first_opened_at == opened is not None
    page = admin_client.get(f"/portal/messages/{message.pk}/").content.decode()
    assert '<td id="opens">1 (first ' in page


def test_marketing_mail_carries_one_click_unsubscribe_and_transactional_does_not(integration):
    marketing = send_email(
        to="bob@example.org", subject="News", text="x", kind="marketing",
        unsubscribe_url="https://example.com/u/123",
    )
    transactional = send_email(
        to="bob@example.org", subject="Reset", text="x", unsubscribe_url="https://example.com/u/1"
    )
    parsed = email.message_from_bytes(render(marketing), policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == "<https://example.com/u/123>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = email.message_from_bytes(render(transactional), policy=email.policy.default)
    assert plain["List-Unsubscribe"] is None and plain["List-Unsubscribe-Post"] is None


def test_transactional_links_reach_the_reader_untracked_unless_turned_on(integration, settings):
    # A password-reset link is a one-time credential: it goes as written, not via the tracker.
    settings.TRACKING_BASE_URL = "http://testserver"
    reset = send_email(to="bob@example.org", subject="Reset", html=HTML)
    assert click_urls(sent_html(reset)) == [] and "/t/o/" not in sent_html(reset)
    integration.track_transactional = True
    integration.save()
    tracked = send_email(to="bob@example.org", subject="Reset", html=HTML)
    assert len(click_urls(sent_html(tracked))) == 2
    assert not send_email(to="bob@example.org", subject="Reset", html=HTML, track=False).track


@pytest.mark.parametrize(("href", "location"), [
    # IDNA 2008 with UTS 46, as browsers: IDNA 2003 sent the first click to strasse.de.
    ("https://straße.de/x", "https://xn--strae-oqa.de/x"),
    ("https://ΕΥΧΑΡΙΣΤΏ.gr/?a=1|2", "https://xn--mxahn5algcq2e.gr/?a=1|2"),
    ("https://ドメイン.jp/パス", "https://xn--eckwd4c7c.jp/%E3%83%91%E3%82%B9"),
    # A host IDNA 2008 refuses but browsers follow: where the browser goes.
    ("https://☃.example/", "https://xn--n3h.example/"),
])
def test_a_click_on_an_idn_link_redirects_where_a_browser_goes(integration, settings, client,
                                                                href, location):
    settings.TRACKING_BASE_URL = "http://testserver"
    message = send_email(to="bob@example.org", subject="Hi", track=True,
                         html=f'<a href="{href}">go</a>')
    [url] = click_urls(sent_html(message))
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 302
    assert response["Location"] == location
    assert TrackingEvent.objects.get(kind="click").message_id == message.pk
