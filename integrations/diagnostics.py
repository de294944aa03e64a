""""Test integration": run each step of a real send and report what happened at each one.

DNS, TCP connect, TLS, EHLO, token (OAuth2), AUTH, then MAIL FROM / RCPT TO / DATA of a test
email. Every step has a status, a duration and details; the failing one carries the reply
code, the enhanced code, the server's text and the hint. Timeouts bound every step. A worker
runs it (`diagnostic_runs`): `progress` hears of every step as it completes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from .bounce_mailbox import check_bounce_mailbox
from .failures.catalog import failure, local_failure
from .failures.errors import DeliveryError
from .models import SmtpIntegration, wire_host_name
from notifuse_smtp.addresses import envelope_address, header_address

from .smtp_client import SmtpSession
from .wire_names import from_header_error

STEP_ORDER = ("dns", "connect", "tls", "ehlo", "token", "auth", "mail", "rcpt", "data", "imap")
STEP_LABELS = {
    "worker": "Worker pick-up", "dns": "Resolve host", "connect": "TCP connect", "tls": "TLS",
    "ehlo": "EHLO", "token": "OAuth2 token", "auth": "AUTH", "mail": "MAIL FROM", "rcpt": "RCPT TO",
    "data": "DATA", "imap": "Bounce mailbox (IMAP)",
}


@dataclass
class Step:
    name: str
    status: str = "pending"  # pending (not reached yet) | ok | failed | skipped
    duration_ms: float = 0.0
    details: dict = field(default_factory=dict)
    smtp_code: int | None = None
    enhanced_code: str = ""
    text: str = ""
    hint: str = ""

    @property
    def label(self) -> str:
        return STEP_LABELS[self.name]


@dataclass
class Report:
    steps: list[Step]

    @property
    def ok(self) -> bool:
        return self.failed_step is None and self.steps[-1].status == "ok"

    @property
    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    def as_json(self) -> list[dict]:
        return [asdict(step) for step in self.steps]

    @classmethod
    def from_json(cls, steps: list[dict]) -> Report:
        """The report of a stored run (IntegrationTest.steps), to show it again."""
        return cls(steps=[Step(**step) for step in steps])


Progress = Callable[[list[Step]], None]


class _Recorder:
    """Collects what each SmtpSession stage did into the report's steps."""

    def __init__(self, steps: dict[str, Step], progress: Progress) -> None:
        self.steps = steps
        self.progress = progress

    def __call__(self, stage: str, seconds: float, session: SmtpSession, error) -> None:
        step = self.steps.get(stage)
        if step is None:
            return
        step.duration_ms = round(step.duration_ms + seconds * 1000, 1)
        step.details.update(_details(stage, session))
        if error is None:
            if step.status != "failed":
                step.status = "ok"
        else:
            fail_step(step, error)
        _tell(self.progress, self.steps)


def fail_step(step: Step, error: DeliveryError) -> None:
    step.status = "failed"
    step.smtp_code, step.enhanced_code = error.smtp_code, error.enhanced_code
    step.text, step.hint = error.text, error.hint


def planned_steps(integration: SmtpIntegration) -> list[Step]:
    """The steps a test of `integration` takes, none of them reached yet."""
    names = [name for name in STEP_ORDER
             if (name != "token" or integration.auth_type == "oauth2")
             and (name != "imap" or integration.bounce_processing)]
    return [Step(name) for name in names]


def _no_progress(steps: list[Step]) -> None:
    pass


def _tell(progress: Progress, steps: dict[str, Step]) -> None:
    """Tell `progress` the steps so far; a step the run went past (TLS when it is off) is
    skipped, not waiting. The mailbox check comes first but is listed last: it passes none."""
    ordered = list(steps.values())
    reached = [i for i, step in enumerate(ordered)
               if step.name != "imap" and step.status in ("ok", "failed")]
    for step in ordered[:max(reached, default=0)]:
        if step.status == "pending":
            step.status = "skipped"
    progress(ordered)


def run_diagnostics(
    integration: SmtpIntegration, *, to: str, sender: str | None = None,
    progress: Progress = _no_progress,
) -> Report:
    """Send a test email to `to` through `integration`, step by step."""
    steps = {step.name: step for step in planned_steps(integration)}
    try:
        _run_steps(integration, steps, to, sender, progress)
    finally:
        for step in steps.values():  # what a failure kept from running
            if step.status == "pending":
                step.status = "skipped"
    return Report(list(steps.values()))


def _run_steps(
    integration: SmtpIntegration, steps: dict[str, Step], to: str, sender: str | None,
    progress: Progress,
) -> None:
    if "imap" in steps:
        check_bounce_mailbox(integration, steps["imap"])
        _tell(progress, steps)
    resolved = _resolve(integration, steps["dns"])
    _tell(progress, steps)
    if not resolved:
        return
    session = SmtpSession(integration, observer=_Recorder(steps, progress),
                          timeout=settings.DIAGNOSTICS_TIMEOUT)
    from_email = sender or _default_sender(integration)
    try:
        xoauth2_mailbox = from_email and integration.xoauth2_as_sender
        session.open(mailbox=envelope_address(from_email) if xoauth2_mailbox else None)
        if error := from_email and from_header_error(from_email):
            fail_step(steps["mail"], error)
        elif from_email:
            content = _test_email(integration, from_email, to)
            session.send(envelope_address(from_email), [envelope_address(to)], content)
        else:
            _no_sender(steps["mail"], integration)
    except DeliveryError:
        pass
    finally:
        session.close()


def _resolve(integration: SmtpIntegration, step: Step) -> bool:
    started = time.monotonic()
    try:
        # As the session connects: an IDN as its IDNA 2008 A-labels, not Python's IDNA 2003.
        host = wire_host_name(integration.host)
        infos = socket.getaddrinfo(host, integration.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        fail_step(step, failure("exception.dns", text=f"{integration.host}: {exc}"))
        return False
    finally:
        step.duration_ms = round((time.monotonic() - started) * 1000, 1)
    step.status = "ok"
    step.details = {"addresses": sorted({info[4][0] for info in infos})}
    return True


def _details(stage: str, session: SmtpSession) -> dict:
    smtp = session.smtp_in_progress
    if smtp is None:
        return {}
    if stage == "connect":
        if smtp.sock is None:
            return {}
        host, port = smtp.sock.getpeername()[:2]
        return {"peer": f"{host}:{port}"}
    if stage == "tls" and smtp.sock is not None and hasattr(smtp.sock, "version"):
        return _tls_details(smtp.sock, session)
    if stage == "ehlo":
        features = dict(smtp.esmtp_features)
        return {
            "hostname_sent": session.integration.ehlo_name,
            "extensions": sorted(features),
            "auth_mechanisms": features.get("auth", "").split(),
        }
    if stage == "token" and getattr(session.credentials, "token", None) is not None:
        token = session.credentials.token
        return {
            "source": "cache" if token.from_cache else "fetched now",
            "expires_in_s": round(token.expires_at - time.time()),
        }
    return {}


def _tls_details(sock, session: SmtpSession) -> dict:
    cert = sock.getpeercert() or {}
    subject = ", ".join("=".join(pair) for rdn in cert.get("subject", ()) for pair in rdn)
    return {
        "mode": "implicit" if session.integration.implicit_tls else "STARTTLS",
        "protocol": sock.version(),
        "certificate_subject": subject,
        "certificate_names": [value for _, value in cert.get("subjectAltName", ())],
        "certificate_expires": cert.get("notAfter", ""),
    }


def _default_sender(integration: SmtpIntegration) -> str:
    """The default sender; else the username when it is an address; else ''."""
    sender = integration.senders.order_by("-is_default", "pk").first()
    if sender:
        return sender.formatted
    return integration.username if "@" in integration.username else ""


def _no_sender(step: Step, integration: SmtpIntegration) -> None:
    """The connection and login were tested; there is no address to send the email from."""
    username = integration.username
    note = f", and its username {username!r} is not an email address" if username else ""
    fail_step(step, local_failure("no-sender", username_note=note))


def _test_email(integration: SmtpIntegration, from_email: str, to: str) -> bytes:
    context = {"integration": integration, "sent_at": timezone.now()}
    email = EmailMultiAlternatives(
        subject=f"Test email from notifuse-smtp ({integration.name})",
        body=render_to_string("integrations/test_email.txt", context),
        # Django would encode an IDN with IDNA 2003: the A-labels are written here.
        from_email=header_address(from_email),
        to=[header_address(to)],
    )
    email.attach_alternative(render_to_string("integrations/test_email.html", context), "text/html")
    return email.message().as_bytes(linesep="\r\n")


