"""Hypothesis strategies for email HTML as it is found, malformed fragments included.

Documents are random sequences of pieces (tags with attributes and entities, comments, bogus
comments, raw-text elements, Outlook conditional comments, stray text), so that one piece
often lands inside another: a link after an unclosed `<title>`, a quote opened in one tag and
closed in the next, `-->` inside a script. Left out: `<svg>`, `<math>`, `<select>`,
`<template>` and framesets, where browsers' tree builder changes what the tokenizer does and
the finder does not follow (see delivery/tracking/tokenizer.py).
"""

from __future__ import annotations

from hypothesis import strategies as st

ENTITIES = [
    "&amp;", "&amp", "&AMP;", "&times", "&timestamp=1", "&region=eu", "&section=2",
    "&notify=1", "&param=x", "&copy=3", "&ltv=9", "&lt;", "&lt", "&notit;", "&notin;",
    "&#x41;", "&#65", "&#0;", "&#x110000;", "&#128;", "&#x9F;", "&#xD800;", "&#0000065;",
    "&#99999999999;", "&", "&;", "&#", "&#x", "&#x;", "&quot", "&apos;", "&nbsp", "&ampx;",
]
URL_STARTS = [
    "https://", "http://", "HTTPS://", "https:", "https:\\\\", "//", "", " https://",
    "\thttp://", "\nhttps://", "mailto:", "javascript:", "ftp://", "http://[::1", "ht\ntp://",
]
HOSTS = ["x.example", "Shop.Example", "a.b.example", "[::1]", "127.0.0.1", "x.example:8080",
         "x.example:99999", "u:p@x.example", "exa mple"]
PATH_PARTS = ["/", "a", "?", "=", "&", "#", "%20", " ", "|", "^", "{", "\\", "..", ".", "'",
              '"', "é", "/./", "\t", ">", "<"]
SOLO_URLS = ["#frag", "", "page?x=1", "../up", "?q", "/root", " ", "http://[::1",
             "https://long.example/" + "a" * 2100]

GOOD_STARTS = ["https://", "http://", "HTTPS://", " https://"]
GOOD_HOSTS = ["x.example", "Shop.Example", "a.b.example", "127.0.0.1", "x.example:8080"]
path = st.lists(st.sampled_from(PATH_PARTS) | st.sampled_from(ENTITIES), max_size=6).map("".join)
good_url = st.builds(
    lambda start, host, rest: start + host + rest,
    st.sampled_from(GOOD_STARTS), st.sampled_from(GOOD_HOSTS), path,
)
url = good_url | st.builds(
    lambda start, host, rest: start + host + rest,
    st.sampled_from(URL_STARTS), st.sampled_from(HOSTS), path,
) | st.sampled_from(SOLO_URLS)

ATTRIBUTE_NAMES = ["href", "href", "HREF", "Href", "title", "data-x", "onclick", "xlink:href",
                   "data-notrack", "DATA-NOTRACK", "=", "src", 'x"y', "alt", "<b"]
SEPARATORS = [" ", " ", "\n", "/", " / ", "", "\t", "\r\n", "\f"]


def _attribute(separator: str, name: str, form: str, value: str) -> str:
    written = {
        "double": f'="{value}"', "single": f"='{value}'", "unquoted": f"={value}",
        "bare": "", "spaced": f' = "{value}"', "empty": "=",
    }[form]
    return separator + name + written


attribute = st.builds(
    _attribute, st.sampled_from(SEPARATORS), st.sampled_from(ATTRIBUTE_NAMES),
    st.sampled_from(["double", "double", "single", "unquoted", "bare", "spaced", "empty"]),
    url | st.sampled_from(["see href=x", "x' href='y", 'a"b', "href=https://in.example/"]),
)

RAW_TEXT_NAMES = ["title", "textarea", "style", "xmp", "iframe", "noembed", "noframes",
                  "script", "plaintext", "TITLE", "Script"]
TAG_NAMES = ["a", "A", "area", "v:roundrect", "base", "BASE", "p", "div", "img", "body",
             "table", "td", "span", "b", "noscript", "head", "br", "ab", "a:b"]
start_tag = st.builds(
    lambda name, attributes, close: "<" + name + "".join(attributes) + close,
    st.sampled_from(TAG_NAMES) | st.sampled_from(TAG_NAMES) | st.sampled_from(RAW_TEXT_NAMES),
    st.lists(attribute, max_size=4),
    st.sampled_from([">", ">", "/>", " >", "", "\n>"]),
)
LINK_NAMES = ["a", "a", "a", "A", "area", "v:roundrect", "V:oval"]
link = st.builds(
    lambda name, before, href, after, close: "<" + name + "".join(before) + href
    + "".join(after) + close,
    st.sampled_from(LINK_NAMES),
    st.lists(attribute, max_size=2),
    st.builds(
        _attribute, st.sampled_from([" ", "\n", "/", ""]), st.sampled_from(["href", "HREF"]),
        st.sampled_from(["double", "double", "double", "single", "unquoted", "spaced"]),
        good_url | url,
    ),
    st.lists(attribute, max_size=2),
    st.sampled_from([">", ">", ">", "/>", ""]),
)
end_tag = st.builds(
    lambda name, attributes, close: "</" + name + "".join(attributes) + close,
    st.sampled_from(TAG_NAMES + RAW_TEXT_NAMES + ["STYLE", "scriptx", "titl"]),
    st.lists(attribute, max_size=1),
    st.sampled_from([">", " >", "/>", "", "\t>"]),
)
MARKUP_FRAGMENTS = [
    "<!--", "<!-->", "<!--->", "-->", "--!>", "<!---->", "<!-- x -- y -->", "<!", "<!-",
    "<?", "<?php x ?>", "</ x>", "</>", "</", "<", "<!DOCTYPE html>",
    '<!doctype html PUBLIC "a>b">', "<![CDATA[ x ]]>", "<!--<script>", "</script >",
    "<script>", "<!--[if mso]>", "<![endif]-->", "<![if !mso]>", "<![endif]>", "--", "-",
    '<base href="https://base.example/dir/">', "<base href=//other.example/b/>",
    '<base href="relative/">', '<base target="_blank">',
]
text = st.text(alphabet=st.sampled_from(list("ab <>&\"'=/!-?;#\n\t\réx")), max_size=10)


def _conditional(condition: str, inside: str) -> str:
    return f"<!--[if {condition}]>{inside}<![endif]-->"


simple_piece = (
    link | start_tag | link | end_tag | st.sampled_from(MARKUP_FRAGMENTS) | link
    | st.sampled_from(ENTITIES) | text
)
conditional = st.builds(
    _conditional, st.sampled_from(["mso", "gte mso 9", "!mso", "IE", "(mso)|(IE)"]),
    st.lists(simple_piece, max_size=5).map("".join),
)
# Mostly well-formed mail, where most links are to be found, with a malformed piece here and
# there.
tidy_link = st.builds(
    lambda name, before, quote, href, after: (
        f"<{name}{before} href={quote}{href}{quote}{after}>link</{name}>"
    ),
    st.sampled_from(LINK_NAMES),
    st.sampled_from(["", ' title="see href=x"', " data-x='href=y'", ' onclick="h(\'href=z\')"',
                     " xlink:href=x", ' data-notrack', ' class="b"']),
    st.sampled_from(['"', "'"]),
    good_url.filter(lambda u: '"' not in u and "'" not in u),
    st.sampled_from(["", ' href="https://second.example/"', ' target="_blank"']),
)
tidy_raw_text = st.builds(
    lambda name, inside: f"<{name}>{inside}</{name}>",
    st.sampled_from(RAW_TEXT_NAMES[:-3]), st.lists(tidy_link | text, max_size=3).map("".join),
)
tidy_piece = (
    tidy_link | tidy_link | tidy_raw_text | text | st.builds("<!--{}-->".format, text)
    | st.sampled_from(["<p>", "</p>", "<table><tr><td>", "</td></tr></table>", "<br>",
                       '<base href="https://base.example/dir/">', "<body>", "</body>"])
)
tidy_document = st.lists(
    tidy_piece | tidy_piece | tidy_piece | simple_piece | conditional, min_size=3, max_size=20
)
documents = (
    st.lists(simple_piece | conditional, min_size=2, max_size=30) | tidy_document | tidy_document
).map("".join)
