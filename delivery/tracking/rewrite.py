"""Add click and open tracking to an HTML body with a real HTML parser.

Only the `href` values of trackable links change and a pixel is inserted; every other byte of
the HTML stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

NO_TRACK_ATTRIBUTE = "data-notrack"
HREF = re.compile(r"""((?<![\w-])href\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    index: int  # position among trackable links, the key the click token signs
    url: str
    start: int  # offset of the start tag in the HTML
    tag: str  # the start tag's exact text


class _LinkFinder(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", html)]
        self.links: list[Link] = []
        self.body_end: int | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag != "a":
            return
        values = dict(attrs)
        url = (values.get("href") or "").strip()
        if NO_TRACK_ATTRIBUTE in values or not is_trackable(url):
            return
        text = self.get_starttag_text() or ""
        self.links.append(Link(len(self.links), url, self._offset(), text))

    def handle_endtag(self, tag: str) -> None:
        if tag == "body" and self.body_end is None:
            self.body_end = self._offset()


def is_trackable(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def find_links(html: str) -> tuple[list[Link], int | None]:
    finder = _LinkFinder(html)
    finder.feed(html)
    finder.close()
    return finder.links, finder.body_end


def trackable_url(html: str, index: int) -> str | None:
    """The original URL of trackable link `index`, or None."""
    links, _ = find_links(html)
    return links[index].url if 0 <= index < len(links) else None


def add_tracking(html: str, click_url: Callable[[Link], str], pixel_url: str) -> str:
    """Return `html` with trackable links pointing at click URLs and an open pixel added."""
    links, body_end = find_links(html)
    pixel = f'<img src="{escape(pixel_url)}" width="1" height="1" alt="" style="display:none">'
    edits = [(link.start, len(link.tag), _retarget(link, click_url(link))) for link in links]
    if body_end is not None:
        edits.append((body_end, 0, pixel))
    out, cursor = [], 0
    for start, length, replacement in sorted(edits, key=lambda e: e[0]):
        out += [html[cursor:start], replacement]
        cursor = start + length
    out.append(html[cursor:])
    return "".join(out) + ("" if body_end is not None else pixel)


def _retarget(link: Link, new_url: str) -> str:
    def replace(match: re.Match) -> str:
        return f'{match.group(1)}"{escape(new_url)}"'

    return HREF.sub(replace, link.tag, count=1)



