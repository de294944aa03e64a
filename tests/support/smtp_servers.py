"""Real SMTP servers for tests (aiosmtpd), with TLS, AUTH and scripted failures.

Each SmtpTestServer runs its own event loop in a thread, on 127.0.0.1 and a port the OS
picks, and records what clients did: connections, EHLO/HELO names, AUTH attempts (login
names only, never passwords or tokens), the time of every MAIL FROM, and every accepted
message with the time it arrived.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cached_property
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from .ports import unused_port
from .raw_servers import HOST, BlackholeServer, HandshakeDropServer
from .raw_servers import listen as _listen
from .xoauth2_smtp import XOAUTH2_REFUSALS, XOAuth2SMTP

__all__ = [
    "XOAUTH2_REFUSALS", "BlackholeServer", "HandshakeDropServer", "Received", "SmtpTestServer",
    "unused_port",
]

TlsMode = Literal["none", "starttls", "implicit"]
XOAuth2Validator = Callable[[str, str], bool]

@dataclass
class Received:
    """One accepted message: its envelope and the content bytes exactly as the client sent them."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    # When the server took it (time.time()): what a provider's rate limit counts.
    arrived_at: float = 0.0
    # MAIL FROM carried SMTPUTF8 (RFC 6531).
    smtputf8: bool = False
    # The content came as BDAT chunks (RFC 3030), not DATA.
    by_bdat: bool = False

    @cached_property
    def parsed(self) -> EmailMessage:
        """The content parsed with the modern email policy (headers decoded)."""
        return email.message_from_bytes(self.content, policy=email.policy.default)


class SmtpTestServer:
    """An SMTP server on 127.0.0.1 for one test: a context manager, or start()/stop().

    Options (all keyword-only, all combinable):
      tls: "none", "starttls" (advertised, required before MAIL and AUTH) or "implicit"
        (TLS from the first byte, 465-style); TLS modes need `ssl_context`.
      advertise_starttls: False plays a server that does not offer STARTTLS.
      credentials: {login: password} enables and requires AUTH PLAIN/LOGIN.
      xoauth2_validator: (user, token) -> bool enables and requires AUTH XOAUTH2;
        xoauth2_style ("gmail" or "microsoft") picks how a refusal looks;
        xoauth2_refusal replaces the style's final reply (e.g. a 5.7.139 or a 454).
      fail_first_n: (n, reply): the first n MAIL FROM get `reply`; a 421 also hangs up.
      reject_rcpt: {address: reply} refuses those recipients at RCPT.
      drop_in_data_first_n: the first n messages lose the connection before the 250.
      reject_data: a reply for every DATA instead of accepting the message.
      pipelining: advertise PIPELINING (RFC 2920); aiosmtpd reads pipelined commands one
        by one either way, so this decides which way the client sends.
      hold_data_from: from this message on (1 is the first), the reply to the message's
        data waits until `release_held()` (a server that stalls); `held` counts the waiting.
      chunking: advertise CHUNKING (RFC 3030) and take BDAT (Received.by_bdat says which
        messages came that way).
      smtputf8: advertise SMTPUTF8 (RFC 6531) and take UTF-8 addresses; without it
        aiosmtpd refuses MAIL FROM with SMTPUTF8 and non-ASCII commands.
      data_delay: seconds each message's data waits before its reply (a slow server).
    The attributes may be changed while the server runs; new commands see the new values.
    """

    def __init__(
        self,
        *,
        tls: TlsMode = "none",
        ssl_context: ssl.SSLContext | None = None,
        advertise_starttls: bool = True,
        credentials: dict[str, str] | None = None,
        xoauth2_validator: XOAuth2Validator | None = None,
        xoauth2_style: Literal["gmail", "microsoft"] = "gmail",
        xoauth2_refusal: str = "",
        fail_first_n: tuple[int, str] | None = None,
        reject_rcpt: dict[str, str] | None = None,
        drop_in_data_first_n: int = 0,
        reject_data: str = "",
        pipelining: bool = False,
        hold_data_from: int = 0,
        smtputf8: bool = False,
        chunking: bool = False,
        data_delay: float = 0.0,
        # Earlier names of fail_first_n / drop_in_data_first_n, still used by older tests.
        fail_first: tuple[int, str] | None = None,
        drop_in_data_first: int = 0,
    ) -> None:
        assert tls in ("none", "starttls", "implicit"), tls
        assert tls == "none" or ssl_context is not None, "TLS needs an ssl_context"
        assert xoauth2_style in XOAUTH2_REFUSALS, xoauth2_style
        self.tls, self.ssl_context = tls, ssl_context
        self.advertise_starttls = advertise_starttls
        self.credentials = dict(credentials or {})
        self.xoauth2_validator, self.xoauth2_style = xoauth2_validator, xoauth2_style
        self.xoauth2_refusal = xoauth2_refusal
        self.reject_rcpt = {rcpt.lower(): reply for rcpt, reply in (reject_rcpt or {}).items()}
        self.reject_data = reject_data
        self.pipelining = pipelining
        self.smtputf8 = smtputf8
        self.chunking = chunking
        # Only the server's event-loop thread counts these down, so they need no lock.
        self.fail_first_n = fail_first_n or fail_first or (0, "")
        self.drop_in_data_first_n = drop_in_data_first_n or drop_in_data_first
        self.hold_data_from = hold_data_from
        self.data_delay = data_delay
        self.held = 0
        self._data_seen = 0
        self._released = threading.Event()
        self._holds: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

        self.host, self.port = HOST, 0  # the real port is known once started
        self.messages: list[Received] = []
        # The time.time() of every MAIL FROM, taken or refused: each try of a message.
        self.mail_commands: list[float] = []
        self.ehlo_hostnames: list[str] = []
        self.auth_attempts: list[tuple[str, str]] = []
        self.connections = 0
        self._changed = threading.Condition()  # guards the records above; wakes waiters
        self._handler = _Handler(self)
        self._controller: _Controller | None = None
        self._probing = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SmtpTestServer:
        """Listen and serve in a background thread; a restart keeps the same port."""
        assert self._controller is None, "already started"
        sock = _listen(self.port)
        self.port = sock.getsockname()[1]
        controller = _Controller(self, sock)
        # aiosmtpd connects once to check the server answers: that is not a client.
        self._probing = True
        try:
            controller.start()
        except BaseException:
            sock.close()
            raise
        finally:
            self._probing = False
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        self.release_held()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- waiting on what clients did -------------------------------------------------------
    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until `condition()` holds (re-checked on every record); False on timeout."""
        with self._changed:
            return self._changed.wait_for(condition, timeout)

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Return the messages once at least `count` arrived; fail listing what did arrive."""
        if not self.wait_until(lambda: len(self.messages) >= count, timeout):
            got = [(m.mail_from, m.rcpt_tos, m.parsed["Subject"]) for m in list(self.messages)]
            raise AssertionError(f"expected {count} message(s) within {timeout}s, got {got}")
        with self._changed:
            return list(self.messages)

    def release_held(self) -> None:
        """Let every held message, and those after it, be accepted."""
        self._released.set()
        with self._changed:
            holds, self._holds = self._holds, []
        for loop, released in holds:
            if not loop.is_closed():
                loop.call_soon_threadsafe(released.set)

    # -- internals, called from the server thread ------------------------------------------
    async def _hold_if_scripted(self) -> None:
        self._data_seen += 1
        if not self.hold_data_from or self._data_seen < self.hold_data_from:
            return
        with self._changed:
            self.held += 1
            self._changed.notify_all()
        # Waited for on the event loop (no helper thread to outlive the server), so other
        # connections are still served meanwhile.
        released = asyncio.Event()
        with self._changed:
            self._holds.append((asyncio.get_running_loop(), released))
        if not self._released.is_set():
            await asyncio.wait_for(released.wait(), 60)
        with self._changed:
            self.held -= 1
            self._changed.notify_all()

    def _record(self, records: list[Any], value: Any) -> None:
        with self._changed:
            records.append(value)
            self._changed.notify_all()

    def _count_connection(self) -> None:
        with self._changed:
            self.connections += 1
            self._changed.notify_all()

    def _scripted_mail_failure(self) -> str:
        count, reply = self.fail_first_n
        if count <= 0:
            return ""
        self.fail_first_n = (count - 1, reply)
        return reply

    def _scripted_drop(self) -> bool:
        if self.drop_in_data_first_n <= 0:
            return False
        self.drop_in_data_first_n -= 1
        return True

    def _new_protocol(self) -> XOAuth2SMTP:
        """One SMTP protocol per TCP connection, built from the options as they are now."""
        if not self._probing:
            self._count_connection()
        starttls = self.tls == "starttls" and self.advertise_starttls
        return XOAuth2SMTP(
            self,
            hostname="smtp.test",
            ident="notifuse test server",
            tls_context=self.ssl_context if starttls else None,
            require_starttls=starttls,
            # Like real servers, no AUTH in clear text on a TLS port. Implicit TLS is
            # encrypted from the first byte, but aiosmtpd only knows STARTTLS, so it must
            # not check there; with tls="none" the server is a plain local relay.
            auth_require_tls=self.tls == "starttls",
            auth_required=bool(self.credentials or self.xoauth2_validator),
            authenticator=self._check_password,
            auth_exclude_mechanism=() if self.xoauth2_validator else ("XOAUTH2",),
            enable_SMTPUTF8=self.smtputf8,
        )

    def _check_password(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """aiosmtpd authenticator for PLAIN and LOGIN: record the login, compare the password."""
        login, password = (part.decode(errors="replace") for part in data)
        self._record(self.auth_attempts, (mechanism, login))
        if login in self.credentials and self.credentials[login] == password:
            return AuthResult(success=True, auth_data=data)
        # handled=False: aiosmtpd then replies 535 5.7.8 Authentication credentials invalid.
        return AuthResult(success=False, handled=False)


class _Handler:
    """aiosmtpd hooks: record what the client did and play the scripted failures."""

    def __init__(self, owner: SmtpTestServer) -> None:
        self.owner = owner

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        self.owner._record(self.owner.ehlo_hostnames, hostname)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.owner._record(self.owner.ehlo_hostnames, hostname)
        session.host_name = hostname
        if self.owner.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        if self.owner.chunking:
            responses.insert(len(responses) - 1, "250-CHUNKING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        self.owner._record(self.owner.mail_commands, time.time())
        reply = self.owner._scripted_mail_failure()
        if reply:
            if reply.startswith("421"):
                # 421 means "closing channel": real servers hang up right after sending it.
                # call_soon lets aiosmtpd write the reply first; close() flushes it.
                asyncio.get_running_loop().call_soon(server.transport.close)
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = self.owner.reject_rcpt.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.owner._scripted_drop():
            # As if the network died after the data arrived but before our 250: the client
            # cannot tell whether the message was taken. The reply below goes nowhere.
            server.transport.abort()
            return "250 never sent"
        if self.owner.reject_data:
            return self.owner.reject_data
        await self.owner._hold_if_scripted()
        if self.owner.data_delay:
            await asyncio.sleep(self.owner.data_delay)
        received = Received(envelope.mail_from, list(envelope.rcpt_tos),
                            envelope.original_content, arrived_at=time.time(),
                            smtputf8=envelope.smtp_utf8,
                            by_bdat=getattr(envelope, "by_bdat", False))
        self.owner._record(self.owner.messages, received)
        return "250 2.0.0 OK queued"


class _Controller(Controller):
    """aiosmtpd's threaded controller, serving a socket bound beforehand (no port race)."""

    def __init__(self, owner: SmtpTestServer, sock: socket.socket) -> None:
        self.owner, self.sock = owner, sock
        implicit = owner.ssl_context if owner.tls == "implicit" else None
        super().__init__(
            owner._handler, hostname=HOST, port=sock.getsockname()[1],
            ssl_context=implicit, ready_timeout=10,
        )

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self.sock, ssl=self.ssl_context
        )

    def factory(self) -> SMTP:
        return self.owner._new_protocol()
