"""An SMTP session for one integration: connect, TLS, EHLO, AUTH, then transactions.

Every failure leaves as a `DeliveryError` naming the stage it happened in, so the attempt record
says how far the session got. Certificates are always verified against the system store
(`SSL_CERT_FILE` honoured); with Use TLS on there is no plain-text fallback.
"""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

from .bounded_replies import bounded_replies
from .credentials import credentials_for
from . import smtputf8
from .credentials.base import refuse_auth_in_clear
from .failures import catalog
from .failures.errors import DeliveryError, FailureClass
from .mail_parameters import prepare
from .models import connect_host_name
from .pipelined_send import ACCEPTED_RCPT, can_pipeline, refusals_kept, send_pipelined
from .secrets import undecryptable_fields
from .smtp_connection import ImplicitTlsSmtp, Smtp, quietly_close, tls_context
from .wire_names import ehlo_hostname_error

if TYPE_CHECKING:
    from .credentials.base import Credentials
    from .models import SmtpIntegration

# Called after each stage with (stage, seconds, session, error or None): diagnostics use it.
StepObserver = Callable[[str, float, "SmtpSession", DeliveryError | None], None]


class SmtpSession:
    """One SMTP connection through an integration, opened once and used for many messages."""

    def __init__(
        self,
        integration: SmtpIntegration,
        credentials: Credentials | None = None,
        observer: StepObserver | None = None,
        timeout: float | None = None,
    ):
        self.integration = integration
        self.observer = observer
        self.timeout = timeout or settings.SMTP_TIMEOUT
        self.credentials = credentials or credentials_for(integration)
        self.smtp: smtplib.SMTP | None = None
        # The connection being set up, before it is authenticated (diagnostics read it).
        self.smtp_in_progress: smtplib.SMTP | None = None
        self.stage = "connect"
        self.tls_version: str | None = None
        self.mailbox = integration.username
        self.messages_sent = 0
        self.in_transaction = False
        # What happened while opening that the next attempt record should tell.
        self.notes: list[str] = []
        self.last_used = time.monotonic()

    # -- opening ---------------------------------------------------------------------------
    def open(self, *, mailbox: str | None = None) -> None:
        """Connect, secure, greet and authenticate; raise DeliveryError at the failing stage.

        An OAuth2 token the server refuses is replaced once, on a new connection.
        """
        self.mailbox = mailbox or self.integration.username
        self._check_secrets_readable()
        if error := ehlo_hostname_error(self.integration):
            with self.step("ehlo"):  # reported at the step it would have broken
                raise error
        if self.integration.auth_type == "oauth2":
            with self.step("token"):
                self.credentials.prepare(mailbox=self.mailbox)
        try:
            self.smtp = self._open_authenticated()
        except DeliveryError as error:
            if error.stage != "auth" or not self._refreshed_after_rejection(error):
                raise
            self.notes.append(f"The server refused the first token ({error.summary}); "
                              "a fresh token was fetched and used.")
            self.smtp = self._open_authenticated()

    def _check_secrets_readable(self) -> None:
        """A secret FERNET_KEYS cannot decrypt would go out empty: say so instead."""
        needed = self.integration.required_fields()
        unreadable = undecryptable_fields(self.integration, needed)
        if unreadable:
            raise catalog.local_failure(
                "undecryptable-secret",
                stage="token" if self.integration.auth_type == "oauth2" else "auth",
                fields=", ".join(unreadable),
            )

    def _refreshed_after_rejection(self, error: DeliveryError) -> bool:
        if self.integration.auth_type != "oauth2":
            return False
        with self.step("token"):
            return self.credentials.refresh_after_rejection(self.mailbox, error)

    def _open_authenticated(self) -> smtplib.SMTP:
        smtp = self._connect()
        try:
            self._greet(smtp)
            with self.step("auth"):
                refuse_auth_in_clear(smtp, self.integration)
                with bounded_replies(smtp):
                    self.credentials.authenticate(smtp, mailbox=self.mailbox)
        except BaseException:
            quietly_close(smtp)
            raise
        # Returned only once fully set up, as Django's backend assigns its connection.
        return smtp

    def _connect(self) -> smtplib.SMTP:
        integration = self.integration
        timeout = self.timeout
        host = connect_host_name(integration.host)
        if integration.implicit_tls:
            with self.step("connect"):
                sock = socket.create_connection((host, integration.port), timeout)
            try:
                with self.step("tls"):
                    self.smtp_in_progress = ImplicitTlsSmtp(
                        sock, host, integration.port, integration.ehlo_name, timeout
                    )
            except DeliveryError:
                sock.close()
                raise
            return self.smtp_in_progress
        with self.step("connect"):
            self.smtp_in_progress = Smtp(
                host,
                integration.port,
                local_hostname=integration.ehlo_name,
                timeout=timeout,
            )
        return self.smtp_in_progress

    def _greet(self, smtp: smtplib.SMTP) -> None:
        with self.step("ehlo"):
            self._ehlo(smtp)
        if self.integration.use_tls and not self.integration.implicit_tls:
            with self.step("tls"):
                if not smtp.has_extn("starttls"):
                    raise catalog.local_failure("starttls-missing")
                smtp.starttls(context=tls_context())
                self.tls_version = smtp.sock.version() if smtp.sock else None
            with self.step("ehlo"):
                self._ehlo(smtp)
        elif self.integration.implicit_tls:
            self.tls_version = smtp.sock.version() if smtp.sock else None

    def _ehlo(self, smtp: smtplib.SMTP) -> None:
        code, reply = smtp.ehlo(self.integration.ehlo_name)
        if code != 250:
            raise smtplib.SMTPHeloError(code, reply)

    # -- sending ---------------------------------------------------------------------------
    def send(self, envelope_from: str, recipients: list[str], content: bytes) -> dict:
        """Run one transaction; return the refused recipients as {address: (code, text)}.

        Raises DeliveryError when nothing could be sent: MAIL or DATA refused, every
        recipient refused, or the connection lost. A failure after some recipients were
        refused carries their refusals too (`refused_recipients`).
        """
        smtp = self.smtp
        assert smtp is not None, "open() first"
        if self.in_transaction:
            self.reset()  # the last transaction did not finish: start clean
        with self.step("mail"):
            prepared = prepare(content, smtp.esmtp_features)
        self.in_transaction = True
        if can_pipeline(self, smtp, recipients):
            return send_pipelined(self, smtp, envelope_from, recipients, prepared)
        refused: dict[str, tuple[int, str]] = {}
        with self.step("mail"):
            options = [*prepared.options, *smtputf8.mail_options(
                smtp, [envelope_from, *recipients], prepared.content)]
            code, reply = smtp.mail(envelope_from, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
        with self.step("rcpt"):
            for address in recipients:
                code, reply = smtp.rcpt(address)
                if code not in ACCEPTED_RCPT:
                    refused[address] = (code, catalog.decoded(reply))
            if len(refused) == len(recipients):
                self.reset_quietly()
                raise self.recipients_refused_error(refused)
        with refusals_kept(refused), self.step("data"):
            code, reply = smtp.data(prepared.content)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        # After the final 250 the server has reset the transaction (RFC 5321 §4.1.1.4), so
        # the next message needs no RSET round trip.
        self.in_transaction = False
        self.messages_sent += 1
        return refused

    def recipients_refused_error(self, refused: dict) -> DeliveryError:
        """Every recipient refused: transient when any refusal was temporary. The error
        carries every refusal, so those that were permanent are not tried again."""
        errors = [self._classified("rcpt", code, text) for code, text in refused.values()]
        transient = [e for e in errors if e.failure_class is FailureClass.TRANSIENT]
        error = (transient or errors)[0]
        error.refused_recipients = dict(refused)
        return error

    def check_envelope(self, envelope_from: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO, then RSET: would the server take this envelope? Sends
        nothing; raises DeliveryError at the step that refused."""
        smtp = self.smtp
        assert smtp is not None, "open() first"
        with self.step("mail"):
            options = smtputf8.mail_options(smtp, [envelope_from, recipient])
            code, reply = smtp.mail(envelope_from, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
        with self.step("rcpt"):
            code, reply = smtp.rcpt(recipient)
        self.reset_quietly()
        if code not in ACCEPTED_RCPT:
            raise self.recipients_refused_error({recipient: (code, catalog.decoded(reply))})

    def take_notes(self) -> str:
        notes, self.notes = self.notes, []
        return " ".join(notes)

    def reset(self) -> None:
        """RSET, so a half-finished transaction never leaks into the next message."""
        if self.smtp is not None:
            with self.step("mail"):
                self.smtp.rset()
            self.in_transaction = False

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                quietly_close(smtp)

    def reset_quietly(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
                self.in_transaction = False
        except (smtplib.SMTPException, OSError):
            pass

    # -- errors ----------------------------------------------------------------------------
    def step(self, stage: str, *, silence: str | None = None) -> _Step:
        """Run one stage, tell the observer how it went, and classify what it raises; a
        failure with no reply at all (timeout, lost connection) is classified at `silence`
        when given."""
        return _Step(self, stage, silence)

    def _classified(self, stage: str, code: int | None, text: str) -> DeliveryError:
        return catalog.from_reply(stage, code, text, self._context())

    def _context(self) -> catalog.Context:
        """What the catalog reads besides the failure: the host, the timeout, the secrets."""
        integration = self.integration
        return catalog.Context(
            host=integration.host,
            auth_type=integration.auth_type,
            timeout=self.timeout,
            secrets=tuple(self.credentials.secrets()),
        )


class _Step:
    """One stage of a session: the client's stage while it runs, whatever it raises turned
    into the catalog's DeliveryError for it, and the observer told how it went.

    A class, not a generator context manager: four run for every message sent, and two
    nested generators cost five times as much.
    """

    __slots__ = ("client", "silence", "stage", "started")

    def __init__(self, client: SmtpSession, stage: str, silence: str | None = None) -> None:
        self.client, self.stage, self.silence = client, stage, silence

    def __enter__(self) -> None:
        self.started = time.monotonic()
        self.client.stage = self.stage

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if isinstance(exc, catalog.CLASSIFIED_EXCEPTIONS):
            stage = self.stage
            if self.silence and not isinstance(exc, smtplib.SMTPResponseException):
                stage = self.silence
            error = catalog.from_exception(stage, exc, self.client._context())
            self._tell_observer(error)
            raise error from None
        if exc is None or isinstance(exc, DeliveryError):
            self._tell_observer(exc)
        return False  # anything else goes on as it was raised, untold

    def _tell_observer(self, error: DeliveryError | None) -> None:
        if self.client.observer:
            self.client.observer(self.stage, time.monotonic() - self.started, self.client, error)
