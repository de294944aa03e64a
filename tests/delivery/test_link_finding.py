"""The tracked-link finder held to html5lib on generated HTML, and clicks to where browsers go.

html5lib follows the HTML standard's tokenizer and tree builder; the URL a browser follows is
the href parsed by the WHATWG URL standard (ada, the parser Node.js uses) against the
document's base.
"""

from __future__ import annotations

import email
import email.policy
from html import escape

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings

from delivery.api import send_email
from delivery.mime import render
from delivery.tracking.finder import find_links
from delivery.tracking.rewrite import add_tracking
from tests.factories import make_integration
from tests.support import html_reference as reference
from tests.support.html_documents import documents

PIXEL_URL = "https://t.example/o/pixel.gif?a=1&b=2"
PIXEL = reference.tag_entry(
    "img", {"src": PIXEL_URL, "width": "1", "height": "1", "alt": "", "style": "display:none"}
)
# Each case of issue 14 in one document, so the generated runs always start from them.
ISSUE_CASES = (
    '<title>T <a href="https://in-title.example/"></title>'
    '<a href="https://x.example/api?a=1&timestamp=1700000000&region=eu">t</a>'
    '<a title="see href=x" href="http://real.example/t" href="https://second.example/">t</a>'
    '<!--> <a href="https://after.example/"> <!-- x --!> <a href="https://after2.example/">'
    '<!--[if mso]><v:roundrect href="https://vml.example/"><![endif]-->'
    '<map><area href="https://area.example/"></map><textarea><a href="https://t.example/">'
    '</textarea><base href="https://base.example/d/"><a href="p?x=1">r</a>'
    '<a href="http://[::1">bad</a><script><!--<script></script><a href="https://s.example/">'
    '--></script><p>end</p><a href="https://open.example/" title="never closed'
)


def click_url(link) -> str:
    return click_url_for(link.index)


def click_url_for(index: int) -> str:
    return f"https://t.example/c/{index}?x=1&y=2"


@hypothesis_settings(max_examples=500, deadline=None)
@given(documents)
@example(ISSUE_CASES)
def test_the_links_found_are_the_ones_html5lib_finds(document):
    found = find_links(document)
    assert [link.url for link in found.links] == reference.followed_urls(document)
    base = reference.base_url(document)
    tracked_hrefs = [h for h in reference.link_hrefs(document) if reference.followed(h, base)]
    assert [link.href.value for link in found.links] == tracked_hrefs


@hypothesis_settings(max_examples=500, deadline=None)
@given(documents)
@example(ISSUE_CASES)
def test_rewriting_changes_only_the_tracked_href_values_and_adds_a_pixel(document):
    found = find_links(document)
    rewritten = add_tracking(document, found, click_url, PIXEL_URL)

    edits = [(link.href.value_start, link.href.value_end, _written(link)) for link in found.links]
    edits.append((found.pixel_at, found.pixel_at, _pixel_text()))
    assert rewritten == _spliced(document, edits)
    # What a browser reads is the same, but for the click URLs and the pixel.
    tokens = reference.comparable_tokens(rewritten)
    assert PIXEL in tokens, "the pixel was swallowed"
    tokens.remove(PIXEL)
    assert _joined(tokens) == _with_click_urls(reference.comparable_tokens(document), document)


def _written(link) -> str:
    """The new source text of a link's href value: quoted, unless its quotes are there."""
    value = escape(click_url(link))
    if link.href.quote:
        return value
    return f'"{value}"' if link.href.quote == "" else f'="{value}"'


def _pixel_text() -> str:
    return f'<img src="{escape(PIXEL_URL)}" width="1" height="1" alt="" style="display:none">'


def _spliced(document: str, edits: list[tuple[int, int, str]]) -> str:
    out, cursor = [], 0
    for start, end, text in sorted(edits, key=lambda edit: edit[0]):
        out += [document[cursor:start], text]
        cursor = end
    return "".join(out) + document[cursor:]


def _joined(tokens: list[tuple]) -> list[tuple]:
    out: list[tuple] = []
    for token in tokens:
        if token[0] == "text" and out and out[-1][0] == "text":
            out[-1] = ("text", out[-1][1] + token[1])
        else:
            out.append(token)
    return out


def _with_click_urls(tokens: list[tuple], document: str) -> list[tuple]:
    """html5lib's tokens of `document`, each tracked link's href set to its click URL."""
    base = reference.base_url(document)
    index = iter(range(10**9))

    def retarget(tokens: tuple | list) -> list[tuple]:
        out = []
        for token in tokens:
            if token[0] == "conditional":
                token = ("conditional", tuple(retarget(token[1])))
            elif token[0] == "tag" and token[1] == reference.START_TAG:
                attributes = dict(token[3])
                name, href = token[2], attributes.get("href")
                is_link = name in ("a", "area") or name.startswith("v:")
                tracked = is_link and href is not None and "data-notrack" not in attributes
                if tracked and reference.followed(href, base):
                    attributes["href"] = click_url_for(next(index))
                    token = reference.tag_entry(name, attributes)
            out.append(token)
        return out

    return retarget(tokens)


@pytest.fixture
def integration():
    return make_integration()


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=documents)
@example(document=ISSUE_CASES)
def test_every_click_redirects_where_a_browser_would_go(document, integration, client, settings):
    settings.TRACKING_BASE_URL = "http://testserver"
    message = send_email(to="bob@example.org", subject="Hi", html="<p>x</p>" + document,
                         kind="marketing")
    sent = email.message_from_bytes(render(message), policy=email.policy.default)
    html = sent.get_body(("html",)).get_content()
    clicks = [h for h in reference.link_hrefs(html) if h.startswith("http://testserver/t/c/")]
    locations = [client.get(h.removeprefix("http://testserver"))["Location"] for h in clicks]
    assert locations == reference.followed_locations("<p>x</p>" + document)
