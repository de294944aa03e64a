"""Real SMTP servers for tests (aiosmtpd), with TLS, AUTH and scripted failures.

Each server runs in its own thread on 127.0.0.1 and records what clients did: EHLO names,
AUTH attempts (never passwords), and every accepted message.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from .ports import unused_port

GMAIL_CHALLENGE = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def parsed(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


class _Handler:
    """aiosmtpd hooks that record the session and play the scripted failures."""

    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.server._record("ehlo_hostnames", hostname)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        failure = self.server._next_scripted("fail_first")
        if failure:
            if failure.startswith("421"):
                asyncio.get_running_loop().call_soon(server.transport.close)
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.server.reject_rcpt.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.server._next_scripted("drop_in_data"):
            server.transport.abort()  # as if the network died before our 250
            return "250 never seen"
        if self.server.reject_data:
            return self.server.reject_data
        self.server._record(
            "messages", Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        )
        return "250 2.0.0 OK queued"

    async def auth_XOAUTH2(self, server, args):
        validator = self.server.xoauth2_validator
        if validator is None or len(args) < 2:
            return AuthResult(success=False, handled=False)
        raw = base64.b64decode(args[1]).decode()
        fields = dict(part.split("=", 1) for part in raw.split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        self.server._record("auth_attempts", ("XOAUTH2", user))
        if validator(user, token):
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        if self.server.xoauth2_style == "gmail":
            await server.challenge_auth(json.dumps(GMAIL_CHALLENGE).encode())
            message = "535 5.7.8 Username and Password not accepted. BadCredentials - gsmtp"
        else:
            message = "535 5.7.3 Authentication unsuccessful [TEST.PROD.OUTLOOK.COM]"
        return AuthResult(success=False, handled=False, message=message)


class _Controller(Controller):
    def __init__(self, owner: SmtpTestServer, **kwargs) -> None:
        self.owner = owner
        super().__init__(owner.handler, **kwargs)

    def factory(self) -> SMTP:
        owner = self.owner
        kwargs = {
            "hostname": "smtp.test",
            # Implicit TLS is TLS from the start; aiosmtpd only knows about STARTTLS here.
            "auth_require_tls": owner.tls == "starttls",
            "ident": "notifuse test server",
        }
        if owner.tls == "starttls" and owner.advertise_starttls:
            kwargs.update(tls_context=owner.ssl_context, require_starttls=True)
        if owner.credentials or owner.xoauth2_validator:
            kwargs.update(authenticator=owner._authenticate, auth_required=True)
        return SMTP(self.handler, **kwargs)


class SmtpTestServer:
    """An SMTP server on 127.0.0.1 for one test, started and stopped as a context manager."""

    def __init__(
        self,
        *,
        tls: str = "none",
        ssl_context: ssl.SSLContext | None = None,
        advertise_starttls: bool = True,
        credentials: dict[str, str] | None = None,
        xoauth2_validator=None,
        xoauth2_style: str = "gmail",
        fail_first: tuple[int, str] | None = None,
        reject_rcpt: dict[str, str] | None = None,
        drop_in_data_first: int = 0,
        reject_data: str = "",
    ) -> None:
        assert tls in ("none", "starttls", "implicit")
        assert tls == "none" or ssl_context is not None, "TLS needs an ssl_context"
        self.tls, self.ssl_context = tls, ssl_context
        self.advertise_starttls = advertise_starttls
        self.credentials = dict(credentials or {})
        self.xoauth2_validator, self.xoauth2_style = xoauth2_validator, xoauth2_style
        self.reject_rcpt = {k.lower(): v for k, v in (reject_rcpt or {}).items()}
        self.reject_data = reject_data
        self._scripted = {
            "fail_first": list(fail_first and [fail_first[1]] * fail_first[0] or []),
            "drop_in_data": [True] * drop_in_data_first,
        }
        self.messages: list[Received] = []
        self.ehlo_hostnames: list[str] = []
        self.auth_attempts: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.handler = _Handler(self)
        self.host, self.port = "127.0.0.1", unused_port()
        self.controller: _Controller | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SmtpTestServer:
        implicit = self.ssl_context if self.tls == "implicit" else None
        self.controller = _Controller(
            self, hostname=self.host, port=self.port, ssl_context=implicit, ready_timeout=10
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what tests read -------------------------------------------------------------------
    def wait_for_messages(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Poll until `count` messages arrived; fail with what did arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    # -- internals -------------------------------------------------------------------------
    def _record(self, name: str, value) -> None:
        with self._lock:
            getattr(self, name).append(value)

    def _next_scripted(self, name: str):
        with self._lock:
            queue = self._scripted[name]
            return queue.pop(0) if queue else None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        self._record("auth_attempts", (mechanism, login))
        ok = self.credentials.get(login) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False)


class BlackholeServer:
    """Accepts TCP connections and never says a word (for timeout tests)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()

    def __enter__(self) -> BlackholeServer:
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
