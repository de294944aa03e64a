"""Local HTTPS token endpoints that msal and requests really talk to.

`FakeMicrosoftIdentity` serves an Entra ID tenant's OpenID configuration and its
client-credentials token endpoint; `FakeGoogleToken` serves Google's token endpoint
(refresh-token and authorization-code grants). Both run `http.server.ThreadingHTTPServer` on
127.0.0.1 (OS-assigned port) in a daemon thread, behind the caller's server `ssl.SSLContext`
(from `tests.support.certs.TestCA` or any `trustme.CA`); clients trust that CA through
`REQUESTS_CA_BUNDLE`. Both answer errors with the bodies the real services send, count
requests under a lock, and remember which access tokens they issued so a test SMTP server
can accept exactly those (`xoauth2_validator`).

What msal 1.39 does against `FakeMicrosoftIdentity` (authority `<authority_host>/<tenant>`,
`instance_discovery=False`); the self-tests in tests/test_support_fake_idp.py pin all of it:

* Requests: the ConfidentialClientApplication constructor GETs
  `/<tenant>/v2.0/.well-known/openid-configuration`; acquire_token_for_client() POSTs to the
  `token_endpoint` listed there, `/<tenant>/oauth2/v2.0/token`, with client_id,
  client_secret, scope and grant_type=client_credentials in the form body.
* Success: a dict with token_type, expires_in, ext_expires_in, access_token, plus
  `token_source: "identity_provider"` that msal adds. A second acquire on the same
  application answers from msal's own token cache (`token_source: "cache"`, no request).
* Unknown tenant: discovery answers 400 `invalid_tenant` (AADSTS90002) and the *constructor*
  raises `ValueError("Unable to get authority configuration for <authority>. Authority would
  typically be in a format of ... Also please double check your tenant name or GUID is
  correct.")`. That message has no AADSTS code; the chained `__context__` is
  `ValueError("OIDC Discovery failed on <url>. HTTP status: 400, Error: <JSON body>")`.
* Wrong client secret: acquire_token_for_client() raises nothing and returns the 401 body as
  a dict: error="invalid_client", error_description="AADSTS7000215: ...", error_codes=
  [7000215], timestamp, trace_id, correlation_id, error_uri.
* Unknown client id: likewise returns the 400 body: error="unauthorized_client",
  error_codes=[700016].
* Forced 5xx (`fail_next_with_status`): acquire_token_for_client() raises
  `msal.exceptions.MsalServiceError("HTTP Error: 503")` (an `MsalError`, not a requests
  exception, no dict; the Entra-shaped body is not read). msal's HTTP layer remembers a
  429/5xx answer per application for Retry-After seconds (5 s without the header) and an
  HTTP 400 answer for 60 s: a retry on the same application inside that window gets the
  remembered answer, raised or returned again, without a request. `retry_after=0` lets an
  immediate retry reach the server.
* Forced 4xx at discovery (`fail_next_discovery_with_status`, e.g. 429 throttling): the
  constructor raises the same `ValueError` as for an unknown tenant; the chained
  `__context__` carries the status ("HTTP status: 429") and the body as it came.
* A token answer that is not JSON (`fail_next_with_status(..., html=True)`, any status below
  500): acquire_token_for_client() raises `json.JSONDecodeError`, a `ValueError`. A discovery
  answer of 200 that is not JSON: the constructor's `ValueError` chains a `JSONDecodeError`.
* Untrusted certificate (REQUESTS_CA_BUNDLE without the CA): the constructor raises
  `requests.exceptions.SSLError` from the discovery GET.
* The discovery GET is remembered per application for 24 h, so `discovery_requests` counts
  applications constructed, not tokens fetched.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

OUTLOOK_SCOPE = "https://outlook.office365.com/.default"
GMAIL_SCOPE = "https://mail.google.com/"


class Request(NamedTuple):
    """One HTTP request as the endpoints see it."""

    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


class Reply(NamedTuple):
    """One HTTP answer: status, body and extra headers.

    A dict body is sent as JSON; a str body as an HTML page, as a proxy, a gateway or a
    throttling front end answers.
    """

    status: int
    body: dict | str
    headers: dict[str, str] = {}


def html_page(status: int) -> str:
    """The kind of page a web server or proxy answers an error with: no JSON in it."""
    return (f"<!DOCTYPE html><html><head><title>Error {status}</title></head>"
            f"<body><h1>Error {status}</h1><p>That's an error.</p></body></html>")


class Grant(NamedTuple):
    """What the fake remembers about an access token it issued."""

    client_id: str
    mailbox: str | None
    expires_at: float


class AuthCode(NamedTuple):
    """A Google authorization code; plain tuples in `auth_codes` are read in this order."""

    client_id: str
    refresh_token: str | None = None
    mailbox: str | None = None
    redirect_uri: str | None = None  # None: any non-empty redirect_uri is accepted


class _QuietServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that does not print expected TLS and disconnect errors."""

    daemon_threads = True
    request_queue_size = 64  # the default 5 drops bursts of parallel clients into SYN retries

    def handle_error(self, request, client_address) -> None:
        # The trust test makes clients reject our certificate mid-handshake: expected noise.
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def _handler_for(endpoint: _HttpsEndpoint) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one endpoint object."""

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a client that connects and never speaks must not hold a thread

        def setup(self) -> None:
            super().setup()
            # Handshake here, in the request thread, not in the accept loop.
            self.connection.do_handshake()

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer(endpoint.dispatch(self._request("GET")))

        def do_POST(self) -> None:  # noqa: N802
            self._answer(endpoint.dispatch(self._request("POST")))

        def _request(self, method: str) -> Request:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            return Request(method, urlsplit(self.path).path, form, headers)

        def _answer(self, reply: Reply) -> None:
            if isinstance(reply.body, str):
                payload, content_type = reply.body.encode(), "text/html; charset=utf-8"
            else:
                payload = json.dumps(reply.body).encode()
                content_type = "application/json; charset=utf-8"
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
            pass

    return Handler


class _HttpsEndpoint:
    """Shared machinery: HTTPS server thread, token bookkeeping, forced failures."""

    def __init__(self, ssl_context: ssl.SSLContext, hostname: str = "127.0.0.1") -> None:
        self.ssl_context = ssl_context
        self.lock = threading.Lock()
        self.token_requests = 0
        self._grants: dict[str, Grant] = {}
        self._failures: list[tuple[int, int | None, bool]] = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        # No handshake in accept(): a silent client would otherwise stall the accept loop.
        self._httpd.socket = ssl_context.wrap_socket(
            self._httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self.host = "127.0.0.1"
        self.port = self._httpd.server_address[1]
        # `hostname` must be a name the server certificate covers; TestCA covers both.
        self.base_url = f"https://{hostname}:{self.port}"
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.02},  # stop() waits up to one poll interval
                name=type(self).__name__,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (safe to call twice or before start)."""
        if self._thread is not None:
            self._httpd.shutdown()  # only returns once serve_forever has run
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- test controls and queries -----------------------------------------------------------

    def fail_next_with_status(
        self, status: int, n: int = 1, retry_after: int | None = None, html: bool = False
    ):
        """Answer the next `n` token requests with HTTP `status` (e.g. 500, 503, 429).

        The body is the provider's JSON error, or with `html` an HTML page (`html_page`).
        """
        with self.lock:
            self._failures.extend([(status, retry_after, html)] * n)

    @property
    def issued(self) -> frozenset[str]:
        """Every access token issued so far (a snapshot)."""
        with self.lock:
            return frozenset(self._grants)

    def is_valid(self, token: str) -> bool:
        """True for a token this fake issued that has not expired (or been expired)."""
        grant = self._grant(token)
        return grant is not None and grant.expires_at > time.time()

    def expire(self, token: str | None = None) -> None:
        """Make one issued access token (or all of them) expired, as if time had passed."""
        with self.lock:
            for key in [token] if token else list(self._grants):
                if key in self._grants:
                    self._grants[key] = self._grants[key]._replace(expires_at=0.0)

    def accepts(self, user: str, token: str) -> bool:
        """Would the mail server take `token` for `user`? Subclasses narrow this."""
        return self.is_valid(token)

    # -- request plumbing --------------------------------------------------------------------

    def dispatch(self, request: Request) -> Reply:
        """Route one request; counts token requests and applies forced failures first."""
        if not self.is_token_path(request):
            return self.answer_other(request)
        with self.lock:
            self.token_requests += 1
            failure = self._failures.pop(0) if self._failures else None
        if failure:
            return self.transient_reply(*failure)
        return self.answer_token(request)

    def is_token_path(self, request: Request) -> bool:
        raise NotImplementedError

    def answer_token(self, request: Request) -> Reply:
        raise NotImplementedError

    def answer_other(self, request: Request) -> Reply:
        # A path the service does not serve gets the web server's page, not an OAuth2 error.
        return Reply(404, html_page(404))

    def transient_reply(self, status: int, retry_after: int | None, html: bool = False) -> Reply:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return Reply(status, html_page(status) if html else self.transient_body(status), headers)

    def transient_body(self, status: int) -> dict:
        return {"error": "temporarily_unavailable",
                "error_description": "The service is temporarily unavailable."}

    def _issue(self, prefix: str, expires_in: int, client_id: str, mailbox: str | None) -> str:
        token = prefix + secrets.token_urlsafe(48)
        with self.lock:
            self._grants[token] = Grant(client_id, mailbox, time.time() + expires_in)
        return token

    def _grant(self, token: str) -> Grant | None:
        with self.lock:
            return self._grants.get(token)


def client_credentials(request: Request) -> tuple[str, str | None]:
    """client_id and client_secret from the form or from HTTP Basic (RFC 6749 §2.3.1)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return request.form.get("client_id", ""), request.form.get("client_secret")


# -- Microsoft ------------------------------------------------------------------------------


class FakeMicrosoftIdentity(_HttpsEndpoint):
    """Entra ID for the client-credentials grant: tenants -> {client_id: client_secret}."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        tenants: dict[str, dict[str, str]] | None = None,
        expires_in: int = 3599,
        error_for: dict[str, tuple[int, str, int | None, str]] | None = None,
        hostname: str = "127.0.0.1",
    ) -> None:
        super().__init__(ssl_context, hostname)
        self.tenants = {t: dict(c) for t, c in (tenants or {}).items()}
        self.expires_in = expires_in
        # client_id -> (http_status, error, aadsts_code, description): forced answers.
        self.error_for = dict(error_for or {})
        self.discovery_requests = 0
        self._discovery_failures: list[tuple[int, bool]] = []

    def fail_next_discovery_with_status(self, status: int, n: int = 1, html: bool = False):
        """Answer the next `n` OpenID configuration requests with HTTP `status` (e.g. 429).

        The body is Entra's JSON error, or with `html` an HTML page (`html_page`).
        """
        with self.lock:
            self._discovery_failures.extend([(status, html)] * n)

    @property
    def authority_host(self) -> str:
        """What to use instead of https://login.microsoftonline.com."""
        return self.base_url

    def authority(self, tenant: str) -> str:
        """The msal authority URL for `tenant`."""
        return f"{self.base_url}/{tenant}"

    def is_token_path(self, request: Request) -> bool:
        parts = request.path.strip("/").split("/")
        return request.method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]

    def answer_other(self, request: Request) -> Reply:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._discovery(parts[0])
        return super().answer_other(request)

    def _discovery(self, tenant: str) -> Reply:
        with self.lock:
            self.discovery_requests += 1
            failure = self._discovery_failures.pop(0) if self._discovery_failures else None
        if failure:
            return self.transient_reply(failure[0], None, html=failure[1])
        if tenant not in self.tenants:
            return self.aad_error(400, "invalid_tenant", 90002, _tenant_not_found(tenant))
        return Reply(200, self.openid_configuration(tenant))

    def openid_configuration(self, tenant: str) -> dict:
        """The subset of Entra's v2.0 OpenID configuration document msal and clients read."""
        base = self.authority(tenant)
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def answer_token(self, request: Request) -> Reply:
        tenant = request.path.strip("/").split("/")[0]
        client_id, secret = client_credentials(request)
        if tenant not in self.tenants:
            return self.aad_error(400, "invalid_request", 90002, _tenant_not_found(tenant))
        if client_id in self.error_for:
            return self.aad_error(*self.error_for[client_id])
        return self._check_client(tenant, client_id, secret, request.form) or self._token(
            client_id
        )

    def _check_client(self, tenant: str, client_id: str, secret, form) -> Reply | None:
        """The AAD error for this request, or None when a token may be issued."""
        clients = self.tenants[tenant]
        if form.get("grant_type") != "client_credentials":
            return self.aad_error(400, "unsupported_grant_type", 70003,
                                  "The app requested an unsupported grant type.")
        if client_id not in clients:
            return self.aad_error(400, "unauthorized_client", 700016, (
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You "
                "may have sent your authentication request to the wrong tenant."))
        if not secret:
            return self.aad_error(400, "invalid_client", 7000218, (
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'."))
        if secret != clients[client_id]:
            return self.aad_error(401, "invalid_client", 7000215, (
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{client_id}'."))
        if form.get("scope") != OUTLOOK_SCOPE:
            return self.aad_error(400, "invalid_scope", 1002012, (
                f"The provided value for scope {form.get('scope')} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI)."))
        return None

    def _token(self, client_id: str) -> Reply:
        # The JWT-looking prefix keeps length and shape close to real Entra tokens.
        token = self._issue("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.", self.expires_in,
                            client_id, mailbox=None)
        return Reply(200, {"token_type": "Bearer", "expires_in": self.expires_in,
                           "ext_expires_in": self.expires_in, "access_token": token})

    def aad_error(self, status: int, error: str, code: int | None, text: str) -> Reply:
        """An Entra error body: error, AADSTS description, error_codes, ids for support."""
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        prefix = f"AADSTS{code}: " if code is not None else ""
        return Reply(status, {
            "error": error,
            "error_description": (f"{prefix}{text} Trace ID: {trace_id} Correlation ID: "
                                  f"{correlation_id} Timestamp: {stamp}"),
            "error_codes": [code] if code is not None else [],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.base_url}/error?code={code}",
        })

    def transient_body(self, status: int) -> dict:
        # AADSTS50033 is Entra's "retryable error"; the service's code treats it as transient.
        return self.aad_error(status, "temporarily_unavailable", 50033,
                              "A transient error has occurred. Please try again.").body


def _tenant_not_found(tenant: str) -> str:
    return (f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud. Check with your subscription "
            "administrator, this may happen if there are no active subscriptions for the "
            "tenant.")


# -- Google ---------------------------------------------------------------------------------


def _google_error(status: int, error: str, description: str) -> Reply:
    return Reply(status, {"error": error, "error_description": description})


class FakeGoogleToken(_HttpsEndpoint):
    """Google's token endpoint: clients, refresh tokens (-> client and mailbox), auth codes."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        clients: dict[str, str] | None = None,
        refresh_tokens: dict[str, tuple[str, str]] | None = None,
        expires_in: int = 3599,
        rotate_refresh_token: bool = False,
        auth_codes: dict[str, tuple] | None = None,
        hostname: str = "127.0.0.1",
    ) -> None:
        super().__init__(ssl_context, hostname)
        self.clients = dict(clients or {})
        self.refresh_tokens = dict(refresh_tokens or {})
        self.expires_in = expires_in
        self.rotate_refresh_token = rotate_refresh_token
        # code -> AuthCode or a plain tuple in AuthCode's order; a code works once.
        self.auth_codes = dict(auth_codes or {})

    @property
    def token_url(self) -> str:
        """What to use instead of https://oauth2.googleapis.com/token."""
        return f"{self.base_url}/token"

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token (access tokens already issued stay valid until expiry)."""
        with self.lock:
            self.refresh_tokens.pop(refresh_token, None)

    def mailbox_for(self, token: str) -> str | None:
        """The mailbox an access token was issued for, or None."""
        grant = self._grant(token)
        return grant.mailbox if grant else None

    def accepts(self, user: str, token: str) -> bool:
        """Valid, and (when the mailbox is known) only for the mailbox that consented."""
        mailbox = self.mailbox_for(token)
        return self.is_valid(token) and (mailbox is None or mailbox.lower() == user.lower())

    def is_token_path(self, request: Request) -> bool:
        return request.method == "POST" and request.path == "/token"

    def answer_token(self, request: Request) -> Reply:
        client_id, secret = client_credentials(request)
        if client_id not in self.clients:
            return _google_error(401, "invalid_client", "The OAuth client was not found.")
        if secret != self.clients[client_id]:
            return _google_error(401, "invalid_client", "Unauthorized")
        grant_type = request.form.get("grant_type")
        if grant_type == "refresh_token":
            return self._refresh(client_id, request.form)
        if grant_type == "authorization_code":
            return self._exchange_code(client_id, request.form)
        if not grant_type:
            return _google_error(400, "invalid_request",
                                 "Required parameter is missing: grant_type")
        return _google_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _refresh(self, client_id: str, form: dict[str, str]) -> Reply:
        refresh_token = form.get("refresh_token")
        if not refresh_token:
            return _google_error(400, "invalid_request",
                                 "Missing required parameter: refresh_token")
        with self.lock:
            owner = self.refresh_tokens.get(refresh_token)
        if owner is None:
            return _google_error(400, "invalid_grant", "Token has been expired or revoked.")
        if owner[0] != client_id:
            return _google_error(400, "unauthorized_client", "Unauthorized")
        body = self._access_token(client_id, owner[1])
        if self.rotate_refresh_token:
            # Keep it simple: the new token is added, the old one stays valid.
            body["refresh_token"] = self._new_refresh_token(client_id, owner[1])
        return Reply(200, body)

    def _exchange_code(self, client_id: str, form: dict[str, str]) -> Reply:
        if not form.get("code"):
            return _google_error(400, "invalid_request", "Missing required parameter: code")
        if not form.get("redirect_uri"):
            return _google_error(400, "invalid_request", "Missing parameter: redirect_uri")
        with self.lock:
            entry = self.auth_codes.get(form["code"])
        if entry is None:
            return _google_error(400, "invalid_grant", "Malformed auth code.")
        code = AuthCode(*entry)
        if code.client_id != client_id:
            return _google_error(400, "invalid_grant", "Bad Request")
        if code.redirect_uri is not None and code.redirect_uri != form["redirect_uri"]:
            return _google_error(400, "redirect_uri_mismatch", "Bad Request")
        with self.lock:
            # Google codes are single-use; a second exchange is refused.
            if self.auth_codes.pop(form["code"], None) is None:
                return _google_error(400, "invalid_grant", "Bad Request")
        return Reply(200, self._code_answer(code))

    def _code_answer(self, code: AuthCode) -> dict:
        with self.lock:
            known = self.refresh_tokens.get(code.refresh_token or "")
        # A 2-tuple code names no mailbox: inherit it from a refresh token already known.
        mailbox = code.mailbox or (known[1] if known else None)
        body = self._access_token(code.client_id, mailbox)
        if code.refresh_token:
            with self.lock:
                self.refresh_tokens[code.refresh_token] = (code.client_id, mailbox)
            body["refresh_token"] = code.refresh_token
        return body

    def _new_refresh_token(self, client_id: str, mailbox: str | None) -> str:
        refresh_token = "1//0g" + secrets.token_urlsafe(64)
        with self.lock:
            self.refresh_tokens[refresh_token] = (client_id, mailbox)
        return refresh_token

    def _access_token(self, client_id: str, mailbox: str | None) -> dict:
        token = self._issue("ya29.", self.expires_in, client_id, mailbox)
        return {"access_token": token, "expires_in": self.expires_in,
                "scope": GMAIL_SCOPE, "token_type": "Bearer"}


def xoauth2_validator(*idps: _HttpsEndpoint) -> Callable[[str, str], bool]:
    """A `(user, token) -> bool` check: a token one of `idps` issued, still valid.

    Microsoft (app-only) tokens are accepted for any user; Google tokens only for the mailbox
    they were issued for (tokens from a 2-tuple auth code without a mailbox: any user).
    """

    def validate(user: str, token: str) -> bool:
        return any(idp.accepts(user, token) for idp in idps)

    return validate
