"""Each tracked-link defect of issue 14, sent and clicked: the reader lands where the link says."""

from __future__ import annotations

import email
import email.policy
import importlib
import re

import pytest
from django.apps import apps
from django.core import signing

from delivery.api import send_email
from delivery.mime import render
from delivery.models import Message, TrackingEvent
from delivery.tracking.links import click_token
from delivery.tracking.signed_tokens import CLICK_SALT
from tests.factories import make_integration

pytestmark = pytest.mark.django_db
CLICK = re.compile(r'href="http://testserver(/t/c/[^"]+)"')
PIXEL = re.compile(r'<img src="http://testserver/t/o/[^"]+\.gif"[^>]*>')


@pytest.fixture(autouse=True)
def integration(settings):
    settings.TRACKING_BASE_URL = "http://testserver"
    return make_integration()


def sent_html(message: Message) -> str:
    parsed = email.message_from_bytes(render(message), policy=email.policy.default)
    return parsed.get_body(("html",)).get_content()


def clicks(html: str, client) -> list[str]:
    """Where each click URL in the sent HTML redirects."""
    responses = [client.get(path) for path in CLICK.findall(sent_html(send(html)))]
    assert {response.status_code for response in responses} <= {302}
    return [response["Location"] for response in responses]


def send(html: str) -> Message:
    return send_email(to="bob@example.org", subject="Hi", html=html, kind="marketing")


def test_a_raw_ampersand_before_a_legacy_entity_name_stays_in_the_url(client):
    html = (
        '<a href="https://x.example/api?a=1&timestamp=1700000000">t</a>'
        '<a href="https://x.example/?a&region=eu&section=2&notify=1&param=x&copy=3&ltv=9">t</a>'
        '<a href="https://x.example/?a=1&amp;b=2&copy;&times">t</a>'
    )
    assert clicks(html, client) == [
        "https://x.example/api?a=1&timestamp=1700000000",
        "https://x.example/?a&region=eu&section=2&notify=1&param=x&copy=3&ltv=9",
        # With ";", or at the end of the value, the names are references, as in browsers.
        "https://x.example/?a=1&b=2%C2%A9%C3%97",
    ]


def test_href_inside_another_attribute_is_left_alone_and_the_real_one_tracked(client):
    html = (
        '<a title="see href=x" data-x=\'href=y\' onclick="go(\'href=z\')" xlink:href="q" '
        'href="http://real.example/t">t</a>'
    )
    sent = sent_html(send(html))
    assert sent.startswith(
        '<a title="see href=x" data-x=\'href=y\' onclick="go(\'href=z\')" xlink:href="q" '
        'href="http://testserver/t/c/'
    )
    assert clicks(html, client) == ["http://real.example/t"]


def test_of_two_hrefs_the_first_is_followed_as_browsers_do(client):
    html = '<a href="https://first.example/" href="https://second.example/">t</a>'
    assert clicks(html, client) == ["https://first.example/"]
    assert 'href="https://second.example/"' in sent_html(send(html))


@pytest.mark.parametrize("element", ["title", "textarea", "xmp", "iframe", "noembed", "style"])
def test_a_link_inside_an_element_of_plain_text_is_text_and_stays_so(element, client):
    html = f'<{element}><a href="https://inside.example/"></{element}><a href=https://out.example>'
    assert clicks(html, client) == ["https://out.example/"]
    assert f'<{element}><a href="https://inside.example/"></{element}>' in sent_html(send(html))


def test_links_after_abruptly_closed_comments_are_tracked(client):
    html = '<!--> <a href="https://a.example/"> <!-- x --!> <a href="https://b.example/">'
    assert clicks(html, client) == ["https://a.example/", "https://b.example/"]


def test_area_vml_and_outlook_conditional_links_are_tracked(client):
    html = (
        '<map><area shape="rect" coords="0,0,9,9" href="https://area.example/"></map>'
        '<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" '
        'href="https://vml.example/" arcsize="10%"><w:anchorlock/><center>Go</center>'
        "</v:roundrect><![endif]-->"
        '<!--[if !mso]><!--><a href="https://others.example/">Go</a><!--<![endif]-->'
    )
    assert clicks(html, client) == [
        "https://area.example/", "https://vml.example/", "https://others.example/",
    ]


def test_relative_links_resolve_against_base_and_stay_untracked_without_it(client):
    based = '<head><base href="https://base.example/dir/"></head><a href="page?x=1">r</a>'
    assert clicks(based, client) == ["https://base.example/dir/page?x=1"]
    assert clicks('<a href="page?x=1">r</a><a href="//cdn.example/x">c</a>', client) == []


def test_a_malformed_url_is_not_tracked(client):
    html = '<a href="http://[::1">bad</a><a href="http://x.example:99999/">port</a>'
    assert clicks(html, client) == []
    assert 'href="http://[::1"' in sent_html(send(html))


def test_a_3000_character_link_redirects_in_full_and_is_recorded_in_what_fits(client):
    url = "https://long.example/?q=" + "a" * 3000
    assert clicks(f'<a href="{url}">long</a>', client) == [url]
    event = TrackingEvent.objects.get(kind="click")
    assert event.url == url[:2000]


def test_the_pixel_is_not_swallowed_by_a_construct_left_open_at_the_end():
    for ending in ['<a href="x', "<!-- never closed", "<textarea>", "<title>", "</", "<!"]:
        html = sent_html(send("<p>Hello</p>" + ending))
        assert re.fullmatch("<p>Hello</p>" + PIXEL.pattern + re.escape(ending), html), ending


def test_a_click_is_one_lookup_that_does_not_read_the_html(client, django_assert_num_queries):
    message = send('<a href="https://x.example/a">a</a><a href="https://x.example/b">b</a>')
    paths = CLICK.findall(sent_html(message))
    Message.objects.filter(pk=message.pk).update(html="")
    with django_assert_num_queries(3):  # the lookup, the event, the click count
        response = client.get(paths[1])
    assert response["Location"] == "https://x.example/b"


def test_a_bad_index_or_a_forged_token_is_a_404_never_a_500(client):
    message = send('<a href="https://x.example/">x</a>')
    forged = signing.dumps([message.pk, 0], key="not-the-secret-key", salt=CLICK_SALT)
    key = message.tracking_key
    for token in [
        click_token(message, 1), f"{key}.-1", f"{key}.01", f"{key}.{10**70}", f"{key}.\u0661",
        f"{key}.", key, f"{key.upper()}.0", f"{key[:-1]}.0", f"{key}0.0",
        signing.dumps(["1", "x"], salt=CLICK_SALT), signing.dumps(7, salt=CLICK_SALT), forged,
        signing.dumps([2**70, 0], salt=CLICK_SALT), "x" * 5000,
    ]:
        assert client.get(f"/t/c/{token}/").status_code == 404
    assert not TrackingEvent.objects.exists()


def test_links_already_sent_keep_leading_where_they_led(client):
    """The migration numbers the links of mail already sent as the former finder did."""
    html = (
        '<area href="https://area.example/"><a href="https://x.example/?a=1&timestamp=2">x</a>'
    )
    sent, waiting = send(html), send(html)
    Message.objects.filter(pk__in=[sent.pk, waiting.pk]).update(tracked_urls=None)
    Message.objects.filter(pk=sent.pk).update(attempt_count=1)
    migration = importlib.import_module("delivery.migrations.0031_message_tracked_urls")
    migration.fill_tracked_urls(apps, None)
    sent.refresh_from_db()
    waiting.refresh_from_db()
    # The former finder skipped <area> and decoded &times: token 0 led there.
    assert sent.tracked_urls == ["https://x.example/?a=1\N{MULTIPLICATION SIGN}tamp=2"]
    assert waiting.tracked_urls == ["https://area.example/", "https://x.example/?a=1&timestamp=2"]
    Message.objects.filter(pk=sent.pk).update(signed_tracking_tokens=True)  # as 0033 marks it
    signed = signing.TimestampSigner(salt=CLICK_SALT).sign_object([sent.pk, 0], compress=True)
    location = client.get(f"/t/c/{signed}/")["Location"]
    assert location == "https://x.example/?a=1%C3%97tamp=2"
