"""One log line per API request: method, path, status, time and the key's name, never the key."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("delivery.http_api")
PREFIX = "/api/"


class LogApiRequests:
    """Middleware: logs requests under /api/ (the Authorization header is never read here)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        api_key = getattr(request, "api_key", None)
        logger.info(
            "api %s %s %s %.1fms key=%s", request.method, request.path, response.status_code,
            (time.perf_counter() - started) * 1000,
            f"{api_key.name}#{api_key.pk}" if api_key is not None else "-",
            extra={"api_key_id": getattr(api_key, "pk", None),
                   "status_code": response.status_code},
        )
        return response
