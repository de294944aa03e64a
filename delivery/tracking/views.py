"""Click and open endpoints: one indexed lookup by the token's key, no HTML read.

An unknown, malformed or forged token is a 404 (no open redirect, no 500). A known one always
gets its redirect or pixel; whether the hit becomes an event is `recording`'s decision.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from delivery.models import Message

from . import links, recording, signed_tokens
from .finder import TRACKED_SCHEMES, parse_url

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@require_GET
@never_cache
def click(request, token: str):
    found = _clicked_link(token)
    if found is None:
        raise Http404("unknown link")
    message_id, key, index, url = found
    location = _location(url)
    if location is None:
        raise Http404("unknown link")
    if recording.counts(key, recording.CLICK, index):
        recording.record(request, message_id, recording.CLICK, url)
    response = HttpResponseRedirect(location)
    # As the URL standard writes it: Django's iri_to_uri() would also escape characters
    # such as "|" that browsers send as they are, making it another URL.
    response["Location"] = location
    return response


@require_GET
@never_cache
def pixel(request, token: str):
    found = _opened_message(token)
    if found is None:
        raise Http404("unknown message")
    message_id, key = found
    if recording.counts(key, recording.OPEN):
        recording.record(request, message_id, recording.OPEN)
    return HttpResponse(PIXEL, content_type="image/gif")


def _clicked_link(token: str) -> tuple[int, str, int, str] | None:
    """(message id, tracking key, link index, stored URL) for a click token, or None."""
    signed = signed_tokens.is_signed(token)
    decoded = (signed_tokens if signed else links).read_click_token(token)
    if decoded is None:
        return None
    name, index = decoded
    row = _named(name, signed).values_list("pk", "tracking_key", "tracked_urls").first()
    if row is None:
        return None
    message_id, key, urls = row
    url = urls[index] if isinstance(urls, list) and index < len(urls) else None
    return (message_id, key, index, url) if isinstance(url, str) else None


def _opened_message(token: str) -> tuple[int, str] | None:
    """(message id, tracking key) for an open token, or None."""
    signed = signed_tokens.is_signed(token)
    name = (signed_tokens if signed else links).read_open_token(token)
    return None if name is None else _named(name, signed).values_list("pk", "tracking_key").first()


def _named(name: str | int, signed: bool):
    """The message a token names: by its key (unique index), or by its id for a signed token,
    which only messages rendered before keys existed accept."""
    if signed:
        return Message.objects.filter(pk=name, signed_tracking_tokens=True)
    return Message.objects.filter(tracking_key=name)


def _location(url: str) -> str | None:
    """The Location for a stored URL (an IDN host in Unicode), as a browser makes it: the
    WHATWG URL standard, whose UTS 46 mapping gives IDNA 2008 A-labels (xn--strae-oqa.de,
    not IDNA 2003's strasse.de), the rest percent-encoded as browsers do. None for a URL no
    browser would follow (stored before URLs were checked)."""
    parsed = parse_url(url)
    return parsed.href if parsed and parsed.protocol in TRACKED_SCHEMES else None
