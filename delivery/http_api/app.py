"""The NinjaAPI instance: authentication, problem-details errors, the OpenAPI document."""

from __future__ import annotations

from ninja import NinjaAPI

from . import messages, problems, suppressions
from .auth import BearerKey

DESCRIPTION = """Queue email through this organisation's SMTP integrations, read what
happened to it, and manage the suppression list. Authenticate with `Authorization: Bearer
<key>` (staff create keys in the admin, or `python manage.py create_api_key NAME --scopes
send,read,suppressions`): `send` queues and cancels, `read` reads messages, `suppressions`
lists, adds and removes suppressed addresses. Errors are RFC 9457 problem details
(`application/problem+json`); `field` names the offending input."""


class Api(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__  # short ids: the OpenAPI links name them

    def get_openapi_schema(self, **kwargs):
        """Ninja documents every response as application/json: errors are problem+json."""
        schema = super().get_openapi_schema(**kwargs)
        for path in schema["paths"].values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[problems.MEDIA_TYPE] = content.pop("application/json")
        return schema


api = Api(
    title="notifuse-smtp", version="1", description=DESCRIPTION, auth=BearerKey(),
    urls_namespace="api_v1",
)
for exception_class, handler in problems.HANDLERS:
    api.add_exception_handler(exception_class, handler)
api.add_router("", messages.router)
api.add_router("", suppressions.router)
