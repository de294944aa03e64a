"""Click and open endpoints. An unsigned, tampered or unknown token is a 404: no open redirect."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db.models import F
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from delivery.models import Message, TrackingEvent

from .links import read_click_token, read_open_token
from .rewrite import trackable_url

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@require_GET
@never_cache
def click(request, token: str):
    decoded = read_click_token(token)
    if decoded is None:
        raise Http404("unknown link")
    message_id, index = decoded
    html = Message.objects.filter(pk=message_id).values_list("html", flat=True).first()
    url = trackable_url(html, index) if html else None
    if url is None:
        raise Http404("unknown link")
    _record(request, message_id, TrackingEvent.Kind.CLICK, url)
    return HttpResponseRedirect(as_uri(url))


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


def as_uri(url: str) -> str:
    """The URL as it goes in Location: IDN host in punycode, the rest percent-encoded."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = host
    netloc = parts.netloc.replace(host, ascii_host, 1) if host else parts.netloc
    return iri_to_uri(urlunsplit(parts._replace(netloc=netloc)))


def _record(request, message_id: int, kind: str, url: str) -> None:
    ip = request.META.get("REMOTE_ADDR") if settings.TRACKING_STORE_IP else None
    TrackingEvent.objects.create(
        message_id=message_id,
        kind=kind,
        url=url,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        ip=ip or None,
    )
    field = "open_count" if kind == TrackingEvent.Kind.OPEN else "click_count"
    Message.objects.filter(pk=message_id).update(**{field: F(field) + 1})
