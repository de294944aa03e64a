"""The part of the HTML standard's tokenizer that decides where tags are, with source positions.

It yields the start tags, end tags and comments asked for exactly where a browser's tokenizer
finds them (attributes with their value spans, the first of duplicate attributes winning;
comments with `<!-->`, `<!--->` and `--!>`; bogus comments from `<?`, `</ ` and `<!x`; no tags
inside title, textarea, style, xmp, iframe, noembed, noframes, script or plaintext), and
crosses the rest in regular expressions. Every step is a regular expression or str.find that
moves forward, so the time is linear in the length of the HTML, malformed or not.

Not followed: the tree builder's exceptions to those element rules (`<title>` inside `<svg>`,
content ignored inside `<select>` or a frameset), and CDATA sections of SVG and MathML.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass

from .charrefs import REPLACEMENT_CHARACTER, decode_attribute_value

WS = "\t\n\f\r "  # the tokenizer's whitespace (CR, which the input stream makes LF, too)
# One attribute as the tokenizer states read it: its name (which may start with "=" and hold
# quotes or "<"), then "=" and a value unless none follows. A quote opens a value that only
# its closing quote ends; without it the tag never ends (end of file inside a tag).
ATTRIBUTE_PATTERN = (
    rf"[{WS}/]*+(?P<name>[^{WS}/>][^{WS}/>=]*+)"
    rf"(?:[{WS}]*+=[{WS}]*+(?:\"(?P<double>[^\"]*+)\"|'(?P<single>[^']*+)'"
    rf"|(?P<unquoted>[^{WS}>\"'][^{WS}>]*+)|(?P<empty>(?=>)))|(?![{WS}]*+=))"
)
ATTRIBUTE = re.compile(ATTRIBUTE_PATTERN)
QUOTES = {"double": '"', "single": "'", "unquoted": "", "empty": ""}
UNNAMED_ATTRIBUTE = re.sub(r"\(\?P<\w+>", "(?:", ATTRIBUTE_PATTERN)
# Any markup: a whole tag (its `close` group missing when the file ends inside it), or "<!",
# "<?" or "</" not followed by a letter. Any other "<" is text.
MARKUP = re.compile(
    rf"<(?:(/?)([A-Za-z][^{WS}/>]*+)((?:{UNNAMED_ATTRIBUTE})*+[{WS}/]*+>)?|[/!?])"
)
COMMENT_END = re.compile(r"--!?>")
ASCII_LOWER = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ\0", "abcdefghijklmnopqrstuvwxyz" + REPLACEMENT_CHARACTER
)

RAW_TEXT = ("title", "textarea", "style", "xmp", "iframe", "noembed", "noframes")
TEXT_END = {
    name: re.compile(rf"</{name}[{WS}/>]", re.IGNORECASE | re.ASCII) for name in RAW_TEXT
}
# Inside script data, "<!--" starts an escape, "<script" inside it a double escape, which
# only "-->" or "</script" ends; in a double escape "</script" does not end the script.
SCRIPT_EVENT = re.compile(rf"<!--|-->|<(/?)script(?=[{WS}/>])", re.IGNORECASE | re.ASCII)
TEXT_ELEMENTS = frozenset([*RAW_TEXT, "script", "plaintext"])


@dataclass(slots=True)
class Attribute:
    name: str
    value: str  # with character references decoded
    value_start: int  # the value's source text, inside its quotes if it has them
    value_end: int
    quote: str | None  # '"', "'", "" (unquoted), or None when no "=" follows the name


@dataclass(slots=True)
class StartTag:
    name: str
    start: int
    end: int
    text: str

    def attributes(self, names: Container[str] | None = None) -> dict[str, Attribute]:
        """The tag's attributes (those in `names`, by default all), the first of duplicates
        winning."""
        found: dict[str, Attribute] = {}
        position = len(self.name) + 1
        while match := ATTRIBUTE.match(self.text, position):
            position = match.end()
            name = match["name"].translate(ASCII_LOWER)
            if name not in found and (names is None or name in names):
                found[name] = self._attribute(name, match)
        return found

    def _attribute(self, name: str, match: re.Match) -> Attribute:
        kind = match.lastgroup  # the value's group; "name" when the attribute has no value
        start, end = match.span(kind)
        if kind == "name":
            return Attribute(name, "", self.start + end, self.start + end, None)
        value = decode_attribute_value(match[kind])
        return Attribute(name, value, self.start + start, self.start + end, QUOTES[kind])


@dataclass(slots=True)
class EndTag:
    name: str
    start: int


@dataclass(slots=True)
class Comment:
    data_start: int
    data_end: int


Token = StartTag | EndTag | Comment


@dataclass(frozen=True)
class Interest:
    """The tags a caller wants yielded: start tags by name or name prefix, end tags by name."""

    start_tags: frozenset[str]
    start_prefixes: tuple[str, ...] = ()
    end_tags: frozenset[str] = frozenset()

    def wants(self, name: str) -> bool:
        return name in self.start_tags or name.startswith(self.start_prefixes)


@functools.lru_cache(maxsize=8)
def _skipping(interest: Interest) -> re.Pattern:
    """Text and whole tags of no interest, as far as they go: one call of C code crosses most
    of a document, and Python only sees the tags it wants and those that start raw text."""
    names = "|".join(map(re.escape, sorted(interest.start_tags | TEXT_ELEMENTS)))
    stops = [rf"(?:{names})(?=[{WS}/>])", *map(re.escape, interest.start_prefixes)]
    if interest.end_tags:
        stops.append(rf"/(?:{'|'.join(map(re.escape, sorted(interest.end_tags)))})(?=[{WS}/>])")
    return re.compile(
        rf"(?:[^<]++|<(?![A-Za-z/!?])|<(?!{'|'.join(stops)})"
        rf"/?[A-Za-z][^{WS}/>]*+(?:{UNNAMED_ATTRIBUTE})*+[{WS}/]*+>)*+",
        re.IGNORECASE | re.ASCII,
    )


class Tokenizer:
    """The tokens of `html[start:end]` that `interest` asks for, and all comments; after them,
    `unfinished_at` is where a construct that the end cut short began (a tag, a comment, an
    element whose text runs to the end), else None."""

    def __init__(
        self, html: str, interest: Interest, start: int = 0, end: int | None = None,
        *, in_comment: bool = False,
    ) -> None:
        self.html = html
        self.interest = interest
        self.start = start
        self.end = len(html) if end is None else end
        # The range is a comment's data, which holds no "-->" or "--!>": a comment opened in
        # it runs to its end, and looking for its close would only cost time.
        self.in_comment = in_comment
        self.unfinished_at: int | None = None

    def __iter__(self) -> Iterator[Token]:
        html, end, position, interest = self.html, self.end, self.start, self.interest
        skipping = _skipping(interest)
        while (at := skipping.match(html, position, end).end()) < end:
            # A "<" the skipping stopped at: always markup (a tag, maybe unfinished, or "<!",
            # "<?", "</" without a letter).
            markup = MARKUP.match(html, at, end)
            slash, name, close = markup.groups()
            if name is None:
                position = self._declaration(at)
                if html.startswith("<!--", at, end):
                    yield Comment(at + 4, self._comment_data_end(at, position))
                if position < 0:
                    return
                continue
            if close is None:
                self.unfinished_at = at
                return
            position = markup.end()
            name = name.translate(ASCII_LOWER)
            if slash:
                yield EndTag(name, at)
                continue
            if interest.wants(name):
                yield StartTag(name, at, position, markup[0])
            if name in TEXT_ELEMENTS:
                position = self._after_start_tag(name, at, position)
                if position < 0:
                    return

    def _declaration(self, at: int) -> int:
        """Where the comment, doctype or bogus comment at `at` ends, or -1 past the end."""
        html, end = self.html, self.end
        if not html.startswith("<!--", at, end):
            # A doctype ends at the first ">" too, whatever quotes it holds; so do <?…,
            # </ …, and <![CDATA[ outside SVG and MathML.
            return self._bogus_comment(at)
        data = at + 4
        if html.startswith(">", data, end):
            return data + 1  # <!-->
        if html.startswith("->", data, end):
            return data + 2  # <!--->
        close = None if self.in_comment else COMMENT_END.search(html, data, end)
        if close is None:
            self.unfinished_at = at
            return -1
        return close.end()

    def _comment_data_end(self, at: int, after: int) -> int:
        """Where the data of the comment at `at`, ending before `after` (-1: the end of the
        file), ends."""
        if after < 0:
            # The end of the file ends it; dashes that had begun to close it are not data.
            data, end = at + 4, self.end
            tail = next((t for t in ("--!", "--", "-") if self.html.endswith(t, data, end)), "")
            return end - len(tail)
        if after <= at + 6:
            return at + 4  # <!--> and <!---> hold nothing
        return after - (4 if self.html[after - 2] == "!" else 3)

    def _bogus_comment(self, at: int) -> int:
        """Everything up to the next ">" is a comment; "</" at the very end is text, but a
        pixel appended after it would open one, so it counts as unfinished too."""
        close = self.html.find(">", at + 2, self.end)
        if close < 0:
            self.unfinished_at = at
            return -1
        return close + 1

    def _after_start_tag(self, name: str, at: int, position: int) -> int:
        """Where tokenizing goes on after start tag `name` (its text holds no tags)."""
        if name in TEXT_END:
            close = TEXT_END[name].search(self.html, position, self.end)
            close_at = -1 if close is None else close.start()
        elif name == "script":
            close_at = self._script_end(position)
        else:
            close_at = -1  # plaintext: no end tag ends it
        if close_at < 0 or MARKUP.match(self.html, close_at, self.end)[3] is None:
            self.unfinished_at = at  # the element's text runs to the end
            return -1
        return close_at

    def _script_end(self, position: int) -> int:
        """The start of the end tag that ends script data at `position`, or -1."""
        escaped = double = False
        while event := SCRIPT_EVENT.search(self.html, position, self.end):
            text = event[0]
            position = event.end()
            if text == "-->":
                escaped = double = False
            elif text == "<!--":
                escaped = True  # (a double escape stays one)
                position = event.start() + 2  # its dashes may begin "-->" (as in <!-->)
            elif event[1]:  # </script
                if not double:
                    return event.start()
                double = False
            elif escaped and not double:  # <script
                double = True
        return -1
