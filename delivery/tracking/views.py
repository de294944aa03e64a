"""Click and open endpoints. An unsigned, tampered or unknown token is a 404: no open redirect."""

from __future__ import annotations

import base64

from django.conf import settings
from django.db.models import F
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from delivery.models import Message, TrackingEvent

from .finder import TRACKED_SCHEMES, parse_url
from .links import read_click_token, read_open_token

URL_LENGTH = TrackingEvent._meta.get_field("url").max_length
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@require_GET
@never_cache
def click(request, token: str):
    decoded = read_click_token(token)
    if decoded is None:
        raise Http404("unknown link")
    message_id, index = decoded
    urls = Message.objects.filter(pk=message_id).values_list("tracked_urls", flat=True).first()
    url = urls[index] if urls and index < len(urls) else None
    location = None if url is None else _location(url)
    if location is None:
        raise Http404("unknown link")
    _record(request, message_id, TrackingEvent.Kind.CLICK, url)
    response = HttpResponseRedirect(location)
    # As the URL standard writes it: Django's iri_to_uri() would also escape characters
    # such as "|" that browsers send as they are, making it another URL.
    response["Location"] = location
    return response


@require_GET
@never_cache
def pixel(request, token: str):
    message_id = read_open_token(token)
    if message_id is None or not Message.objects.filter(pk=message_id).exists():
        raise Http404("unknown message")
    _record(request, message_id, TrackingEvent.Kind.OPEN, "")
    Message.objects.filter(pk=message_id, first_opened_at__isnull=True).update(
        first_opened_at=timezone.now()
    )
    return HttpResponse(PIXEL, content_type="image/gif")


def _location(url: str) -> str | None:
    """The Location for a stored URL (an IDN host in Unicode), as a browser makes it: the
    WHATWG URL standard, whose UTS 46 mapping gives IDNA 2008 A-labels (xn--strae-oqa.de,
    not IDNA 2003's strasse.de), the rest percent-encoded as browsers do. None for a URL no
    browser would follow (stored before URLs were checked)."""
    parsed = parse_url(url)
    return parsed.href if parsed and parsed.protocol in TRACKED_SCHEMES else None


def _record(request, message_id: int, kind: str, url: str) -> None:
    ip = request.META.get("REMOTE_ADDR") if settings.TRACKING_STORE_IP else None
    TrackingEvent.objects.create(
        message_id=message_id,
        kind=kind,
        # The redirect goes to the whole URL; the event keeps what fits its column.
        url=url[:URL_LENGTH],
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        ip=ip or None,
    )
    field = "open_count" if kind == TrackingEvent.Kind.OPEN else "click_count"
    Message.objects.filter(pk=message_id).update(**{field: F(field) + 1})
