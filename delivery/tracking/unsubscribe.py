"""The hosted one-click unsubscribe (RFC 8058): POST unsubscribes, GET only asks.

Link scanners and mail previews fetch GET URLs, so a GET changes nothing and shows a page
with a button; the one-click POST a mailbox provider sends (and the button) unsubscribe.
An unsigned, tampered or unknown token is a 404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from delivery.feedback import record_unsubscribe
from delivery.models import Message

from .links import read_unsubscribe_token


@csrf_exempt  # the one-click POST comes from the recipient's mailbox provider, with no cookie
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    decoded = read_unsubscribe_token(token)
    if decoded is None:
        raise Http404("unknown link")
    message_id, recipients = decoded
    message = Message.objects.filter(pk=message_id).only("pk", "to", "kind").first()
    if message is None or not recipients:
        raise Http404("unknown link")
    if request.method == "POST":
        for recipient in recipients:
            record_unsubscribe(message, recipient)
    return render(request, "tracking/unsubscribe.html", {
        "recipients": recipients, "done": request.method == "POST",
    })
