"""The hosted one-click unsubscribe (RFC 8058): POST unsubscribes, GET only asks.

Link scanners and mail previews fetch GET URLs, so a GET changes nothing and shows a page
with a button; the one-click POST a mailbox provider sends (and the button) unsubscribe.
A token that names no message (made up, altered, or of a pruned message) is a 404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from delivery.feedback import record_unsubscribe

from .links import unsubscribe_recipients


@csrf_exempt  # the one-click POST comes from the recipient's mailbox provider, with no cookie
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    target = unsubscribe_recipients(token)
    if target is None or not target[1]:
        raise Http404("unknown link")
    message, recipients = target
    if request.method == "POST":
        for recipient in recipients:
            record_unsubscribe(message, recipient)
    return render(request, "tracking/unsubscribe.html", {
        "recipients": recipients, "done": request.method == "POST",
    })
