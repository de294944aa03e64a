"""Who is calling: the bearer key, its per-minute limit (in Redis, for all processes), scopes."""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from delivery.api_keys import ApiKey, Scope
from notifuse_smtp.redis_connection import redis_client

from .problems import Problem

WINDOW_SECONDS = 60


class BearerKey(HttpBearer):
    """`Authorization: Bearer <key>`: an unknown or revoked key gets a 401."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = ApiKey.find(token.strip())
        if api_key is None or api_key.is_revoked:
            return None
        request.api_key = api_key  # for the request log, which never sees the key itself
        enforce_rate_limit(api_key)
        api_key.note_use()
        return api_key


def enforce_rate_limit(api_key: ApiKey) -> None:
    """Count this request in the key's current minute; past the limit, a 429."""
    limit = api_key.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    name = f"notifuse:api-rate:{api_key.pk}:{window}"
    pipeline = redis_client().pipeline(transaction=False)
    pipeline.incr(name)
    pipeline.expire(name, WINDOW_SECONDS * 2)
    used, _ = pipeline.execute()
    if used > limit:
        wait = math.ceil((window + 1) * WINDOW_SECONDS - now)
        raise Problem(429, "rate-limited",
                      f"This key may make {limit} requests a minute; try again in {wait} s.",
                      headers={"Retry-After": str(wait)})


def require(request: HttpRequest, scope: Scope) -> ApiKey:
    """The caller's key, when it has `scope`; else a 403 naming the scope."""
    api_key: ApiKey = request.auth
    if scope.value not in api_key.scopes:
        raise Problem(403, "missing-scope", f"This key lacks the {scope.value!r} scope.")
    return api_key
