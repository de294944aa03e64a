"""Requests refused before any view sees them."""

from __future__ import annotations

import json

from django.http import HttpResponseBadRequest


class RefuseNulCharacters:
    """A NUL character in the query string gets a 400.

    PostgreSQL cannot compare text with one, so a filter given it (an admin list's
    ?status__exact=%00) raised DataError: a server error page for a hand-made address. Form
    fields already refuse NUL characters themselves.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values)
               for key, values in request.GET.lists()):
            return _refusal(request)
        return self.get_response(request)


REFUSAL = "The address contains a NUL character (%00), which no page here accepts."
API_PREFIX = "/api/"


def _refusal(request) -> HttpResponseBadRequest:
    if request.path.startswith(API_PREFIX):
        # The HTTP API answers every error as an RFC 9457 problem, this one too.
        body = {"type": "urn:notifuse-smtp:problem:invalid-request", "title": "Bad Request",
                "status": 400, "detail": REFUSAL}
        return HttpResponseBadRequest(json.dumps(body), content_type="application/problem+json")
    return HttpResponseBadRequest(REFUSAL, content_type="text/plain")
