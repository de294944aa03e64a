"""The tracked-link finder held to html5lib on generated HTML.

html5lib follows the HTML standard's tokenizer and tree builder; the URL a browser follows is
the href parsed by the WHATWG URL standard (ada, the parser Node.js uses) against the
document's base.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import settings as hypothesis_settings

from delivery.tracking.finder import find_links
from tests.support import html_reference as reference
from tests.support.html_documents import documents

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


@hypothesis_settings(max_examples=500, deadline=None)
@given(documents)
@example(ISSUE_CASES)
def test_the_links_found_are_the_ones_html5lib_finds(document):
    found = find_links(document)
    assert [link.url for link in found.links] == reference.followed_urls(document)
    base = reference.base_url(document)
    tracked_hrefs = [h for h in reference.link_hrefs(document) if reference.followed(h, base)]
    assert [link.href.value for link in found.links] == tracked_hrefs
