"""Errors as RFC 9457 problem details (`application/problem+json`), one handler per kind."""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from delivery.validation import InvalidMessage

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:notifuse-smtp:problem:"


class ProblemOut(Schema):
    """An RFC 9457 problem; `field` names the offending input when there is one."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[dict] | None = None


class Problem(Exception):
    """Raised by an endpoint: becomes a problem response with `status`."""

    def __init__(self, status: int, slug: str, detail: str, *, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail
        self.field, self.headers = field, headers or {}


def problem_response(status: int, slug: str, detail: str, *, field: str | None = None,
                     errors: list[dict] | None = None,
                     headers: dict[str, str] | None = None) -> HttpResponse:
    body: dict = {"type": TYPE_BASE + slug, "title": HTTPStatus(status).phrase,
                  "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def on_problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(exc.status, exc.slug, exc.detail, field=exc.field,
                            headers=exc.headers)


def on_invalid_message(request: HttpRequest, exc: InvalidMessage) -> HttpResponse:
    return problem_response(422, "invalid-message", exc.problem, field=exc.field)


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """The request did not match the schema: name the first field, list every error."""
    errors = [_plain_error(error) for error in exc.errors]
    field = errors[0]["field"] if errors else None
    detail = "; ".join(f"{e['field'] or e['in']}: {e['message']}" for e in errors)
    return problem_response(422, "invalid-request", detail, field=field, errors=errors)


def _plain_error(error: dict) -> dict:
    where, *path = [str(part) for part in error.get("loc", ())] or ["body"]
    if where == "body" and path:
        path = path[1:]  # the name of the body parameter, which callers never see
    return {"in": where, "field": ".".join(path) or None, "message": error.get("msg", "")}


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        401, "unauthenticated", "Send a valid, unrevoked API key: Authorization: Bearer <key>.",
        headers={"WWW-Authenticate": 'Bearer realm="notifuse-smtp"'},
    )


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(exc.status_code, "http-error", str(exc))


def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(404, "not-found", "No such resource.")


HANDLERS = (
    (Problem, on_problem),
    (InvalidMessage, on_invalid_message),
    (ValidationError, on_validation_error),
    (AuthenticationError, on_authentication_error),
    (HttpError, on_http_error),
    (Http404, on_not_found),
)
