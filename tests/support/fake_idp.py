"""Local HTTPS token endpoints that msal and requests really talk to.

`FakeMicrosoftIdentity` serves a tenant's OpenID configuration and its client-credentials
token endpoint; `FakeGoogleToken` serves Google's token endpoint (refresh-token and
authorization-code grants). Both answer errors the way the real services do, count requests,
and remember which tokens they issued so a test SMTP server can accept only those.

What msal does with the answers (msal 1.39): an unknown tenant makes the OpenID configuration
request answer 400, and the ConfidentialClientApplication constructor raises ValueError
("Unable to get authority configuration for ..."); token endpoint errors come back from
acquire_token_for_client() as a dict with error, error_description and error_codes.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class _Server:
    """An HTTPS server on 127.0.0.1 in a thread; subclasses answer GET and POST."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self.ssl_context = ssl_context
        self.lock = threading.Lock()
        self.issued: dict[str, dict] = {}
        self.token_requests = 0
        self._failures: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                owner._respond(self, *owner.on_get(urlsplit(self.path).path))

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with owner.lock:
                    owner.token_requests += 1
                    failure = owner._failures.pop(0) if owner._failures else None
                if failure:
                    owner._respond(self, failure, {"error": "temporarily_unavailable"})
                    return
                owner._respond(self, *owner.on_post(urlsplit(self.path).path, form))

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_next_with_status(self, status: int, n: int = 1) -> None:
        with self.lock:
            self._failures.extend([status] * n)

    def is_valid(self, token: str) -> bool:
        with self.lock:
            grant = self.issued.get(token)
        return grant is not None and grant["expires_at"] > time.time()

    def _issue(self, expires_in: int, **grant) -> str:
        token = "tok-" + secrets.token_urlsafe(24)
        with self.lock:
            self.issued[token] = {"expires_at": time.time() + expires_in, **grant}
        return token

    @staticmethod
    def _respond(handler, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def on_get(self, path: str) -> tuple[int, dict]:
        return 404, {"error": "not_found"}

    def on_post(self, path: str, form: dict) -> tuple[int, dict]:
        return 404, {"error": "not_found"}


def _aad_error(status: int, error: str, code: int, text: str) -> tuple[int, dict]:
    return status, {
        "error": error,
        "error_description": f"AADSTS{code}: {text} Trace ID: t Correlation ID: c",
        "error_codes": [code],
        "timestamp": "2026-11-24 00:00:00Z",
        "trace_id": "00000000-0000-0000-0000-00000000trace",
        "correlation_id": "00000000-0000-0000-0000-0000000corr",
    }


class FakeMicrosoftIdentity(_Server):
    """Entra ID for client credentials: tenants -> {client_id: client_secret}."""

    def __init__(self, ssl_context: ssl.SSLContext, tenants: dict, expires_in: int = 3599):
        super().__init__(ssl_context)
        self.tenants = tenants
        self.expires_in = expires_in
        self.discovery_requests = 0

    @property
    def authority_host(self) -> str:
        return self.base_url

    def on_get(self, path: str) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts[1:] != ["v2.0", ".well-known", "openid-configuration"]:
            return 404, {"error": "not_found"}
        with self.lock:
            self.discovery_requests += 1
        tenant = parts[0]
        if tenant not in self.tenants:
            return _aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{self.base_url}/{tenant}"
        return 200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
        }

    def on_post(self, path: str, form: dict) -> tuple[int, dict]:
        tenant = path.strip("/").split("/")[0]
        clients = self.tenants.get(tenant, {})
        client_id = form.get("client_id", "")
        if client_id not in clients:
            return _aad_error(400, "unauthorized_client", 700016,
                              f"Application with identifier '{client_id}' was not found.")
        if form.get("client_secret") != clients[client_id]:
            return _aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        if form.get("scope") != "https://outlook.office365.com/.default":
            return _aad_error(400, "invalid_scope", 70011, "The provided scope is not valid.")
        token = self._issue(self.expires_in, provider="microsoft", client_id=client_id)
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in,
                     "ext_expires_in": self.expires_in, "access_token": token}


class FakeGoogleToken(_Server):
    """Google's token endpoint: clients, refresh tokens (-> client and mailbox), auth codes."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        clients: dict[str, str],
        refresh_tokens: dict[str, tuple[str, str]],
        expires_in: int = 3599,
        rotate_refresh_token: bool = False,
    ) -> None:
        super().__init__(ssl_context)
        self.clients = clients
        self.refresh_tokens = dict(refresh_tokens)
        self.expires_in = expires_in
        self.rotate_refresh_token = rotate_refresh_token
        self.auth_codes: dict[str, tuple[str, str | None, str]] = {}

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def revoke(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh_tokens.pop(refresh_token, None)

    def mailbox_for(self, token: str) -> str | None:
        with self.lock:
            grant = self.issued.get(token)
        return grant and grant.get("mailbox")

    def on_post(self, path: str, form: dict) -> tuple[int, dict]:
        if path != "/token":
            return 404, {"error": "not_found"}
        client_id = form.get("client_id", "")
        if client_id not in self.clients:
            return 401, {"error": "invalid_client",
                         "error_description": "The OAuth client was not found."}
        if form.get("client_secret") != self.clients[client_id]:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(client_id, form)
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        grant = self.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None:
            return 400, {"error": "invalid_grant",
                         "error_description": "Token has been expired or revoked."}
        if grant[0] != client_id:
            return 400, {"error": "unauthorized_client", "error_description": "Unauthorized"}
        body = self._access_token(client_id, grant[1])
        if self.rotate_refresh_token:
            rotated = "1//rt-" + secrets.token_urlsafe(16)
            with self.lock:
                self.refresh_tokens[rotated] = grant
            body["refresh_token"] = rotated
        return 200, body

    def _exchange_code(self, client_id: str, form: dict) -> tuple[int, dict]:
        entry = self.auth_codes.get(form.get("code", ""))
        if entry is None or entry[0] != client_id or not form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        _, refresh_token, mailbox = entry
        body = self._access_token(client_id, mailbox)
        if refresh_token:
            with self.lock:
                self.refresh_tokens[refresh_token] = (client_id, mailbox)
            body["refresh_token"] = refresh_token
        return 200, body

    def _access_token(self, client_id: str, mailbox: str) -> dict:
        token = self._issue(self.expires_in, provider="google", client_id=client_id,
                            mailbox=mailbox)
        return {"access_token": token, "expires_in": self.expires_in,
                "scope": "https://mail.google.com/", "token_type": "Bearer"}


def xoauth2_validator(*idps: _Server):
    """Accept a token one of the fakes issued (Google's only for the mailbox it was minted for)."""

    def validate(user: str, token: str) -> bool:
        for idp in idps:
            if idp.is_valid(token):
                mailbox = idp.issued[token].get("mailbox")
                return mailbox is None or mailbox.lower() == user.lower()
        return False

    return validate
