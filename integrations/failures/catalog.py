"""The failure catalog: every way a send can fail, mapped to (stage, class, hint) by one table.

The table is each provider's rules (in `PROVIDERS` order), then the generic SMTP replies, the
exceptions a session step raises, and this service's own refusals. Replies are read by the
first row that matches: provider rows come first because several providers use 5xx for
conditions that clear with time. Everything else is looked up by rule id. Hints come from
`shared/reference/smtp-and-oauth-errors.md`, in our own words.
"""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

from integrations.providers import google, microsoft, sendgrid, ses

from . import exceptions, imap, local, replies, smtp
from .errors import DeliveryError, parse_enhanced_code
from .rules import Context, Rule

if TYPE_CHECKING:
    from integrations.models import SmtpIntegration

# The providers whose rules are registered, in the order their SMTP rows are tried. A new
# provider's module goes here (docs/adding-a-provider.md).
PROVIDERS = (microsoft, google, ses, sendgrid)

RULES: tuple[Rule, ...] = (
    *(rule for provider in PROVIDERS for rule in provider.RULES),
    *smtp.RULES,
    *smtp.FALLBACKS,
    *exceptions.RULES,
    *local.RULES,
    *imap.RULES,
)
_BY_ID = {rule.id: rule for rule in RULES}
_READING_REPLIES = tuple(rule for rule in RULES if rule.reads_replies)
# What a session step may raise that `from_exception` classifies.
CLASSIFIED_EXCEPTIONS = exceptions.CLASSIFIED
# An error text is for a person to read: a huge exception message is cut.
MAX_TEXT = 1000


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names it when there is none."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"no failure rule {rule_id!r} in the catalog") from None


def first_rule(*rule_ids: str) -> Rule:
    """The first of these ids the catalog has a rule for (the last is expected to exist)."""
    return next((_BY_ID[i] for i in rule_ids if i in _BY_ID), None) or rule(rule_ids[-1])


def failure(
    rule_id: str,
    *,
    stage: str = "",
    text: str | None = None,
    smtp_code: int | None = None,
    enhanced_code: str = "",
    **facts: object,
) -> DeliveryError:
    """The error a rule makes: its class and hint, the rule's stage (else `stage`), and `text`
    (else the rule's wording filled in with `facts`)."""
    chosen = rule(rule_id)
    if text is None:
        text = chosen.says.format(**facts)[:MAX_TEXT]
    return DeliveryError(
        stage=chosen.stage or stage,
        failure_class=chosen.failure_class,
        text=text,
        smtp_code=smtp_code,
        enhanced_code=enhanced_code,
        hint=chosen.hint,
        rule=chosen.id,
    )


def local_failure(name: str, *, stage: str = "", **facts: object) -> DeliveryError:
    """One of this service's own refusals (`local.<name>`), e.g. ("sender-removed", address=)."""
    return failure(f"local.{name}", stage=stage, **facts)


def explain_reply(
    stage: str, code: int | None, enhanced: str, text: str, host: str = "", auth_type: str = ""
) -> Rule:
    """The rule that reads an SMTP reply: the first row that matches, else its code class."""
    lowered = (text or "").lower()
    host = (host or "").lower().rstrip(".")
    for candidate in _READING_REPLIES:
        if candidate.matches(stage, code, enhanced, lowered, host, auth_type or ""):
            return candidate
    return rule(smtp.fallback(stage, code))


def explain_refusal(code: int, text: str, integration: SmtpIntegration | None) -> Rule:
    """A recipient's refusal read at RCPT with the integration's provider rules, as the session
    reads a refusal of every recipient."""
    host, auth_type = (integration.host, integration.auth_type) if integration else ("", "")
    return explain_reply("rcpt", code, parse_enhanced_code(text), text, host, auth_type)


def from_reply(stage: str, code: int | None, text: str, context: Context) -> DeliveryError:
    """The error for a server's reply: text redacted, then bounded (`replies`), the enhanced
    code in its own field."""
    text = replies.bounded(text, context.redacted)
    enhanced = parse_enhanced_code(text)
    chosen = explain_reply(stage, code, enhanced, text, context.host, context.auth_type)
    if enhanced and text.lstrip().startswith(enhanced):
        text = text.lstrip()[len(enhanced):].lstrip()  # kept in its own field
    return failure(chosen.id, stage=stage, text=text, smtp_code=code, enhanced_code=enhanced)


def from_exception(stage: str, exc: BaseException, context: Context) -> DeliveryError:
    """The error for what a session step raised (one of CLASSIFIED_EXCEPTIONS)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        # Whole: from_reply redacts before it cuts.
        return from_reply(stage, exc.smtp_code, _text(exc.smtp_error), context)
    row = exceptions.by_type(exc, stage)
    return failure(row.rule, stage=stage, **row.facts(exc, context))


def decoded(reply: bytes | str) -> str:
    """A server's reply text as smtplib hands it over (bytes, or str for its own messages),
    bounded as `replies` says: what is kept of a recipient's refusal."""
    return replies.bounded(_text(reply))


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply)
