"""The links a recipient can follow in an HTML body, and the URL each one leads to.

A link is an `<a>`, `<area>` or VML shape (`<v:roundrect>` and the like) with an `href`, found
where a browser's tokenizer finds it, plus those inside Outlook's conditional comments
(`<!--[if mso]>…<![endif]-->`), which Outlook renders. Its URL is what a browser follows: the
`href` value parsed by the WHATWG URL standard (ada), against the first `<base href>` when
there is one. Only http and https URLs are tracked; a relative link without a base, or a URL a
browser would refuse (`http://[::1`), is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ada_url

from .tokenizer import Attribute, Comment, EndTag, Interest, StartTag, Tokenizer

NO_TRACK_ATTRIBUTE = "data-notrack"
HREF = frozenset({"href"})
HREF_AND_NO_TRACK = frozenset({"href", NO_TRACK_ATTRIBUTE})
LINK_ELEMENTS = frozenset({"a", "area"})
VML_PREFIX = "v:"
LINKS = Interest(LINK_ELEMENTS, (VML_PREFIX,))
LINKS_AND_BASE = Interest(LINK_ELEMENTS | {"base"}, (VML_PREFIX,), frozenset({"body"}))
TRACKED_SCHEMES = ("http:", "https:")
CONDITIONAL_START = re.compile(r"\[if\s[^\]]*\]>", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True, slots=True)
class Link:
    index: int  # position among tracked links: the key a click token signs
    url: str  # where a browser goes (an IDN host in Unicode: encoding it is the redirect's job)
    href: Attribute  # the href value's place in the HTML


@dataclass(frozen=True, slots=True)
class FoundLinks:
    links: list[Link]
    pixel_at: int  # where an open pixel goes: before </body>, else where nothing swallows it


def find_links(html: str) -> FoundLinks:
    """The tracked links of `html`, in document order."""
    tokenizer = Tokenizer(html, LINKS_AND_BASE)
    hrefs: list[Attribute] = []
    base: str | None = None
    body_end: int | None = None
    for token in tokenizer:
        if isinstance(token, StartTag):
            if token.name == "base" and base is None:
                href = token.attributes(HREF).get("href")
                base = None if href is None else href.value
            else:
                _collect(token, hrefs)
        elif isinstance(token, EndTag):
            body_end = token.start if body_end is None else body_end
        else:
            _collect_conditional(html, token, hrefs)
    base_url = None if base is None else browser_url(base, None)
    links: list[Link] = []
    for href in hrefs:
        url = browser_url(href.value, base_url)
        if url is not None and url.startswith(TRACKED_SCHEMES):
            links.append(Link(len(links), url, href))
    if body_end is None:
        body_end = len(html) if tokenizer.unfinished_at is None else tokenizer.unfinished_at
    return FoundLinks(links, body_end)


def tracked_urls(html: str) -> list[str]:
    """Where each tracked link of `html` leads, in the order of its click tokens."""
    return [link.url for link in find_links(html).links]


def _collect(tag: StartTag, hrefs: list[Attribute]) -> None:
    if tag.name in LINK_ELEMENTS or tag.name.startswith(VML_PREFIX):
        attributes = tag.attributes(HREF_AND_NO_TRACK)
        href = attributes.get("href")
        if href is not None and NO_TRACK_ATTRIBUTE not in attributes:
            hrefs.append(href)


def _collect_conditional(html: str, comment: Comment, hrefs: list[Attribute]) -> None:
    """Links in `<!--[if …]>…<![endif]-->`, whose inside Outlook reads as HTML.

    (`<![endif]` is read too: it holds no link, and it ends nothing.) A comment inside can
    only be one the end cuts short; when it is conditional too, its inside is read next.
    """
    while comment is not None:
        start = CONDITIONAL_START.match(html, comment.data_start, comment.data_end)
        if start is None:
            return
        nested = None
        inside = Tokenizer(html, LINKS, start.end(), comment.data_end, in_comment=True)
        for token in inside:
            if isinstance(token, StartTag):
                _collect(token, hrefs)
            else:
                nested = token
        comment = nested


def parse_url(value: str, base: str | None = None) -> ada_url.URL | None:
    """`value` parsed as browsers parse URLs (against `base`), or None where they fail."""
    try:
        return ada_url.URL(value, base) if base is not None else ada_url.URL(value)
    except (ValueError, UnicodeError):
        return None


def browser_url(value: str, base: str | None) -> str | None:
    """The URL a browser makes of `value` (against `base`), or None where it makes none."""
    try:
        href = ada_url.join_url(base, value) if base is not None else ada_url.normalize_url(value)
    except (ValueError, UnicodeError):
        return None
    if "xn--" not in href:
        return href
    # Where the host needs IDNA, keep its Unicode form: which IDNA encodes it (2003 or
    # 2008) is decided where the redirect is made, not here.
    url = ada_url.URL(href)
    if not url.hostname.startswith("xn--") and ".xn--" not in url.hostname:
        return href
    userinfo = url.username + (":" + url.password if url.password else "")
    return "".join((
        url.protocol, "//", userinfo + "@" if userinfo else "",
        ada_url.idna_to_unicode(url.hostname), ":" + url.port if url.port else "",
        url.pathname, url.search, url.hash,
    ))
