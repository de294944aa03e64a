"""The failure catalog: one table of rules with stable ids, and the only source of staff hints.

The session-end check in tests/conftest.py holds every failure path of the suite to it: each
error made names a catalog rule and carries its hint, and each hint stored for staff is one.
"""

from __future__ import annotations

import ast
import pkgutil
import smtplib
import socket
import ssl
from pathlib import Path

import pytest

import integrations.providers
from integrations.failures import catalog, exceptions, smtp
from integrations.failures.errors import FailureClass
from integrations.failures.rules import Context
from tests.support.hints_shown import Shown, exercised, strays

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = ("integrations", "delivery", "senders", "notifuse_smtp")
KINDS = ("smtp.", "exception.", "local.", "imap.", *(f"{p.__name__.rsplit('.', 1)[1]}."
                                              for p in catalog.PROVIDERS))


# -- the table ----------------------------------------------------------------------------------
def test_rule_ids_are_unique_and_name_their_kind():
    ids = [rule.id for rule in catalog.RULES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not i.startswith(KINDS)] == []


@pytest.mark.parametrize("rule", catalog.RULES, ids=lambda rule: rule.id)
def test_every_rule_has_a_class_and_a_finished_hint(rule):
    assert isinstance(rule.failure_class, FailureClass)
    assert rule.hint.strip() == rule.hint and len(rule.hint) > 20
    assert rule.hint.endswith((".", ")")), "hints are sentences"
    assert "{" not in rule.hint, "hints are fixed text, so a stored one can be told apart"


def test_reply_rows_match_on_lowercase_text_because_replies_are_lowercased_first():
    assert [r.id for r in catalog.RULES if r.text != r.text.lower()] == []


def test_provider_rows_are_tried_before_the_generic_ones():
    order = [rule.id for rule in catalog.RULES if rule.reads_replies]
    first_generic = order.index(smtp.RULES[0].id)
    assert all(not rule_id.startswith("smtp.") for rule_id in order[:first_generic])
    assert all(rule_id.startswith("smtp.") for rule_id in order[first_generic:])


def test_every_provider_module_is_registered_and_names_its_rules_after_itself():
    modules = {m.name for m in pkgutil.iter_modules(integrations.providers.__path__)}
    assert {p.__name__.rsplit(".", 1)[1] for p in catalog.PROVIDERS} == modules
    for provider in catalog.PROVIDERS:
        prefix = provider.__name__.rsplit(".", 1)[1] + "."
        assert all(rule.id.startswith(prefix) for rule in provider.RULES)


def test_every_rule_an_exception_or_a_fallback_names_exists():
    for row in exceptions.BY_TYPE:
        catalog.rule(row.rule)
    for code in (None, 421, 450, 550, 999):
        for stage in ("auth", "rcpt"):
            catalog.rule(smtp.fallback(stage, code))
    with pytest.raises(KeyError, match="no failure rule 'local.nothing'"):
        catalog.rule("local.nothing")


# -- lookups ------------------------------------------------------------------------------------
def test_an_smtp_reply_is_read_by_the_first_matching_row_with_the_text_redacted():
    error = catalog.from_reply("auth", 535, "5.7.3 Authentication unsuccessful s3cret-token",
                               Context(secrets=("s3cret-token",)))
    assert error.rule == "microsoft.535-5.7.3" and error.failure_class is FailureClass.CONFIGURATION
    assert (error.smtp_code, error.enhanced_code) == (535, "5.7.3")
    assert error.text == "Authentication unsuccessful [redacted]"


def _disconnected_by(cause: OSError) -> smtplib.SMTPServerDisconnected:
    """What smtplib raises when reading a reply fails with `cause` (getreply wraps it)."""
    try:
        try:
            raise cause
        except OSError as exc:
            # As smtplib does: no `from`, the cause is left as __context__ only.
            message = f"Connection unexpectedly closed: {exc}"
            raise smtplib.SMTPServerDisconnected(message)  # noqa: B904
    except smtplib.SMTPServerDisconnected as disconnected:
        return disconnected


@pytest.mark.parametrize(
    ("stage", "exc", "rule", "recorded_stage", "text"),
    [
        ("ehlo", socket.gaierror(-2, "Name or service not known"), "exception.dns", "connect",
         "Host name does not resolve: smtp.example.com (Name or service not known)"),
        ("data", TimeoutError(), "exception.timeout", "data", "Timed out after 7.5 s"),
        ("connect", ssl.SSLCertVerificationError(1, "bad"), "exception.certificate", "tls",
         "Certificate not trusted: bad"),
        ("ehlo", ssl.SSLError(1, "wrong version"), "exception.tls", "tls",
         "TLS handshake failed: wrong version"),
        ("tls", ssl.SSLEOFError(8, "EOF"), "exception.tls-lost", "tls",
         "Connection lost during TLS: EOF"),
        ("mail", ConnectionResetError(104, "Connection reset by peer"), "exception.network",
         "mail", "Network error: Connection reset by peer"),
        ("data", _disconnected_by(TimeoutError("The read operation timed out")),
         "exception.reply-timeout", "data", "Timed out after 7.5 s waiting for the server"),
        ("data", _disconnected_by(ConnectionResetError(104, "reset")), "exception.disconnected",
         "data", "Connection closed by the server: Connection unexpectedly closed: [Errno 104] "
         "reset"),
        ("rcpt", smtplib.SMTPServerDisconnected("closed with pw-1234"), "exception.disconnected",
         "rcpt", "Connection closed by the server: closed with [redacted]"),
        ("auth", UnicodeEncodeError("ascii", "pässword", 1, 2, "x"),
         "exception.encoding-credentials", "auth",
         "The credentials contain non-ASCII characters, which smtplib cannot send here."),
        ("mail", UnicodeEncodeError("ascii", "jörg@example.com", 1, 2, "x"),
         "exception.encoding-command", "mail",
         "The command contains non-ASCII characters, which smtplib cannot send here."),
        ("auth", smtplib.SMTPException("No suitable authentication method found."),
         "exception.smtplib", "auth", "No suitable authentication method found."),
    ],
)
def test_an_exception_maps_to_its_rule_stage_and_text(stage, exc, rule, recorded_stage, text):
    context = Context(host="smtp.example.com", timeout=7.5, secrets=("pw-1234",))
    assert isinstance(exc, catalog.CLASSIFIED_EXCEPTIONS)
    error = catalog.from_exception(stage, exc, context)
    assert (error.rule, error.stage, error.text) == (rule, recorded_stage, text)
    assert error.hint == catalog.rule(rule).hint


def test_an_exception_the_catalog_does_not_read_is_left_to_the_caller():
    # A bug (a ValueError, a KeyError) is not a failure of the server: the engine records it
    # as local.unexpected with the worker log to look at.
    assert not isinstance(ValueError("line break"), catalog.CLASSIFIED_EXCEPTIONS)


def test_a_local_refusal_takes_its_stage_and_wording_from_its_rule():
    error = catalog.local_failure("sender-removed", address="old@example.com")
    assert (error.rule, error.stage, error.failure_class) == (
        "local.sender-removed", "mail", FailureClass.CONFIGURATION)
    assert error.text == "old@example.com is no longer a sender of this integration"


def test_a_token_error_code_is_found_by_id_else_the_next_one():
    fallback = "microsoft.token.setup-checklist"
    assert catalog.first_rule("microsoft.token.AADSTS1", fallback).id == fallback
    chosen = catalog.first_rule("google.token.invalid_grant", "google.token.other-refusal")
    assert chosen.id == "google.token.invalid_grant"


def test_the_ids_this_service_names_itself_cannot_meet_an_oauth2_error_code():
    # RFC 6749 error codes are lowercase letters and underscores: ours have a hyphen.
    token_rules = [rule.id.split(".token.", 1)[1] for rule in catalog.RULES if ".token." in rule.id]
    ours = [key for key in token_rules if not key.startswith("AADSTS") and "_" not in key]
    assert ours and all("-" in key for key in ours)


# -- where hints come from ----------------------------------------------------------------------
def test_no_app_module_makes_a_delivery_error_outside_the_failure_package():
    makers = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "failures" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeliveryError":
                    makers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert makers == []


def test_the_session_check_reports_a_hint_the_catalog_does_not_give():
    rule = catalog.rule("local.sender-removed")
    shown = {
        Shown(rule.hint, rule.id, "delivery/engine.py:1"),
        Shown(catalog.rule("smtp.421").hint, None, "SendAttempt.hint"),
        Shown("Check the password.", None, "SmtpIntegration.needs_attention_hint"),
        Shown("Check the password.", "", "delivery/engine.py:2"),
        Shown("Check the password.", rule.id, "delivery/engine.py:3"),
    }
    problems = "\n".join(strays(shown, catalog.RULES))
    assert len(problems.splitlines()) == 3
    assert "needs_attention_hint: a hint no catalog rule gives: 'Check the password.'" in problems
    assert "engine.py:2: an error made without a catalog rule" in problems
    assert "engine.py:3: an error of rule 'local.sender-removed' with another hint" in problems
    assert exercised(shown, catalog.RULES) == {"local.sender-removed", "smtp.421"}
