"""html5lib as the reference for tracked links: the token stream its tree builder really reads.

html5lib's tokenizer alone never enters RCDATA or script data: its parser switches it as
browsers do, so the tokens are recorded while a whole parse runs.
"""

from __future__ import annotations

import re

import ada_url
import html5lib
from html5lib import _tokenizer
from html5lib.constants import tokenTypes

from delivery.tracking.finder import TRACKED_SCHEMES, browser_url

START_TAG, END_TAG, COMMENT = tokenTypes["StartTag"], tokenTypes["EndTag"], tokenTypes["Comment"]
TEXT = {tokenTypes["Characters"], tokenTypes["SpaceCharacters"]}
PARSE_ERROR = tokenTypes["ParseError"]
# Outlook reads the inside of <!--[if …]>…<![endif]--> as HTML.
CONDITIONAL = re.compile(r"\[if\s[^\]]*\]>(.*?)(?:<!\[endif\]\s*)?\Z", re.I | re.A | re.S)


class _RecordingTokenizer(_tokenizer.HTMLTokenizer):
    def __iter__(self):
        self.seen = []
        for token in super().__iter__():
            self.seen.append(token)
            yield token


class _RecordingParser(html5lib.HTMLParser):
    def _parse(self, stream, innerHTML=False, container="div", scripting=False, **kwargs):
        # As HTMLParser._parse, with a tokenizer that keeps what it yields (str input never
        # needs the reparse for another encoding).
        self.innerHTMLMode, self.container, self.scripting = innerHTML, container, scripting
        self.tokenizer = _RecordingTokenizer(stream, parser=self, **kwargs)
        self.reset()
        self.mainLoop()


def tokens(document: str) -> list[dict]:
    """The tokens html5lib's tree builder reads for `document`, scripting off (as in mail)."""
    parser = _RecordingParser(namespaceHTMLElements=False)
    parser.parse(document)
    return parser.tokenizer.seen


def is_link(token: dict) -> bool:
    if token["type"] != START_TAG:
        return False
    return token["name"] in ("a", "area") or token["name"].startswith("v:")


def link_hrefs(document: str) -> list[str]:
    """The href of every link a reader can follow (data-notrack ones left out), in order,
    those inside Outlook's conditional comments included."""
    hrefs = []
    for token in tokens(document):
        if is_link(token) and "href" in token["data"] and "data-notrack" not in token["data"]:
            hrefs.append(token["data"]["href"])
        elif token["type"] == COMMENT and (inside := CONDITIONAL.match(token["data"])):
            hrefs += link_hrefs(inside[1])
    return hrefs


def base_url(document: str) -> str | None:
    """The document's base URL: from the first <base> with an href, if that parses."""
    for token in tokens(document):
        if token["type"] == START_TAG and token["name"] == "base" and "href" in token["data"]:
            return browser_url(token["data"]["href"], None)
    return None


def followed(href: str, base: str | None) -> str | None:
    """Where a browser goes from a link with `href`, when that is an http(s) URL."""
    url = browser_url(href, base)
    return url if url is not None and url.startswith(TRACKED_SCHEMES) else None


def followed_urls(document: str) -> list[str]:
    """Where a browser goes from each tracked link, in order."""
    base = base_url(document)
    urls = (followed(href, base) for href in link_hrefs(document))
    return [url for url in urls if url is not None]


def followed_locations(document: str) -> list[str]:
    """The same URLs as HTTP carries them (an IDN host as its A-label)."""
    return [ada_url.URL(url).href for url in followed_urls(document)]


def comparable_tokens(document: str) -> list[tuple]:
    """The token stream with parse errors dropped, adjacent text joined (an inserted tag
    splits text) and conditional comments replaced by the tokens of their inside."""
    out: list[tuple] = []
    for token in tokens(document):
        kind = token["type"]
        if kind == PARSE_ERROR:
            continue
        if kind in TEXT:
            if out and out[-1][0] == "text":
                out[-1] = ("text", out[-1][1] + token["data"])
            else:
                out.append(("text", token["data"]))
        elif kind in (START_TAG, END_TAG):
            out.append(("tag", kind, token["name"], _attributes(token["data"])))
        elif kind == COMMENT and (inside := CONDITIONAL.match(token["data"])):
            out.append(("conditional", tuple(comparable_tokens(inside[1]))))
        else:
            out.append(("other", kind, token.get("data"), token.get("name")))
    return out


def tag_entry(name: str, attributes: dict[str, str]) -> tuple:
    return ("tag", START_TAG, name, _attributes(attributes))


def _attributes(data: dict | list) -> tuple:
    # A start tag's attributes come as a dict; an end tag's stay a list of pairs.
    pairs = data.items() if isinstance(data, dict) else map(tuple, data)
    return tuple(sorted(pairs))
