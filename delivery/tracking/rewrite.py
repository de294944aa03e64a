"""Point tracked links at click URLs and add an open pixel, editing nothing else.

Each edit replaces one `href` value where the finder found it; every other character of the
HTML stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from .finder import FoundLinks, Link
from .tokenizer import Attribute


def pixel_tag(pixel_url: str) -> str:
    return f'<img src="{escape(pixel_url)}" width="1" height="1" alt="" style="display:none">'


def add_tracking(
    html: str, found: FoundLinks, click_url: Callable[[Link], str], pixel_url: str,
    *, links: Sequence[Link] | None = None,
) -> str:
    """`html` with `links` (by default all found) pointing at their click URLs, and a pixel."""
    edits = [
        (link.href.value_start, link.href.value_end, _href_value(link.href, click_url(link)))
        for link in (found.links if links is None else links)
    ]
    edits.append((found.pixel_at, found.pixel_at, pixel_tag(pixel_url)))
    edits.sort(key=lambda edit: edit[0])
    out, cursor = [], 0
    for start, end, replacement in edits:
        out += [html[cursor:start], replacement]
        cursor = end
    out.append(html[cursor:])
    return "".join(out)


def _href_value(href: Attribute, url: str) -> str:
    """`url` written in place of the value's source text."""
    value = escape(url, quote=True)
    if href.quote:
        return value  # inside the value's own quotes; escape() covers both kinds
    if href.quote == "":
        return f'"{value}"'  # an unquoted (or missing) value ends at a space: quote it
    return f'="{value}"'  # a bare `href`: the value goes after its name
