"""Polling a real Dovecot mailbox of real-world reports: the right events, once; the rest
left exactly as it was."""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from delivery import engine
from delivery.api import send_email
from delivery.bounces.polling import poll
from delivery.models import BounceMailbox, FeedbackEvent, Suppression
from integrations.diagnostics import run_diagnostics
from tests.delivery.bounce_samples import AUTO_REPLIES, BOUNCES, COMPLAINTS, UNRELATED, sample
from tests.factories import make_integration
from tests.support.certs import TestCA
from tests.support.imap_server import DovecotServer
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db(transaction=True)
MAILBOX, PASSWORD = "app@example.com", "imap-secret"
SAMPLES = [*BOUNCES, *COMPLAINTS, *AUTO_REPLIES, *UNRELATED]


def _require_dovecot() -> None:
    """Skip where Dovecot is missing, except in CI (.ci/run installs it): there, fail."""
    if not shutil.which("dovecot") and os.environ.get("CI") != "true":
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; .ci/run does)")


@pytest.fixture
def dovecot(test_ca):
    _require_dovecot()
    with DovecotServer(test_ca, users={MAILBOX: PASSWORD}) as server:
        yield server


@pytest.fixture
def filled(dovecot):
    """An integration whose sent messages each got one report (or reply) in its mailbox."""
    with SmtpTestServer() as smtp:
        integration = make_integration(
            smtp, sender=MAILBOX, bounce_processing=True, bounce_imap_host="127.0.0.1",
            bounce_imap_port=dovecot.imaps_port, bounce_imap_username=MAILBOX,
            bounce_imap_password=PASSWORD)
        messages = {name: send_email(to=[f"{name}@example.org"], subject="Your weekly digest",
                                     text="x", kind="marketing", integration=integration)
                    for name in SAMPLES}
        engine.drain(integration.pk)
        sent = {m.rcpt_tos[0]: m.parsed["Message-ID"] for m in smtp.wait_for_messages(
            len(SAMPLES))}
    uids = {name: dovecot.deliver(MAILBOX, sample(
        name, message_id=sent[f"{name}@example.org"], recipient=f"{name}@example.org",
        sender=MAILBOX)) for name in SAMPLES}
    return integration, messages, uids


def _flags(dovecot, folder: str = "INBOX") -> dict[int, set[bytes]]:
    with dovecot.client(MAILBOX) as client:
        client.select_folder(folder, readonly=True)
        return {uid: set(data[b"FLAGS"]) for uid, data in
                client.fetch(client.search("ALL"), ["FLAGS"]).items()}


def test_each_report_produces_the_right_event_for_the_right_recipient(filled, dovecot):
    integration, messages, uids = filled
    result = poll(integration)
    assert result.error == "", result.error
    events = {(e.message_id, e.recipient): (e.kind, e.bounce_type, e.enhanced_code)
              for e in FeedbackEvent.objects.all()}
    expected = {(messages[name].pk, f"{name}@example.org"): ("bounce", "hard" if hard else
                                                             "soft", status)
                for name, (hard, status) in BOUNCES.items()}
    expected[(messages["arf_complaint"].pk, "arf_complaint@example.org")] = (
        "complaint", "", "")
    assert events == expected
    assert "Final-Recipient" in FeedbackEvent.objects.get(
        recipient="postfix_dsn@example.org").report
    suppressed = dict(Suppression.objects.values_list("address", "reason"))
    assert suppressed == {f"{n}@example.org": "hard_bounce" for n, (h, _) in BOUNCES.items()
                          if h} | {"arf_complaint@example.org": "complaint"}


def test_only_recognised_reports_are_flagged_the_rest_is_left_as_it_was(filled, dovecot):
    integration, _, uids = filled
    poll(integration)
    flags = _flags(dovecot)
    assert set(flags) == set(uids.values())  # nothing deleted or moved
    for name in [*BOUNCES, *COMPLAINTS]:
        assert b"\\Flagged" in flags[uids[name]], name
    for name in [*AUTO_REPLIES, *UNRELATED]:
        assert flags[uids[name]] == set(), name  # not flagged, not even marked read


def test_polling_twice_records_each_report_once(filled, dovecot):
    integration, _, _ = filled
    poll(integration)
    first = FeedbackEvent.objects.count()
    again = poll(integration)
    assert FeedbackEvent.objects.count() == first == 6
    assert again.counts.get("events", 0) == 0
    # Even after losing the UIDs (a rebuilt mailbox), a report is recorded once.
    BounceMailbox.objects.update(last_uid=0, uidvalidity=None)
    poll(integration)
    assert FeedbackEvent.objects.count() == first


def test_two_workers_polling_at_once_record_each_report_once(filled, dovecot):
    integration, _, _ = filled
    results, start = [], threading.Barrier(2)

    def worker():
        start.wait()
        try:
            results.append(poll(integration))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert FeedbackEvent.objects.count() == 6
    assert sorted(r.busy for r in results) in ([False, False], [False, True])


def test_processed_reports_move_to_the_folder_and_the_rest_stay(filled, dovecot):
    integration, _, uids = filled
    integration.bounce_folder = "Processed reports"
    integration.save()
    poll(integration)
    kept = _flags(dovecot)
    assert set(kept) == {uids[name] for name in [*AUTO_REPLIES, *UNRELATED]}
    assert len(_flags(dovecot, "Processed reports")) == len(BOUNCES) + len(COMPLAINTS)


def test_the_command_polls_and_says_what_it_found(filled, capsys):
    integration, _, _ = filled
    call_command("poll_bounces", integration.name)
    out = capsys.readouterr().out
    assert f"{integration.name}: " in out and "events 6" in out


def test_an_untrusted_certificate_is_refused(dovecot, test_ca):
    with DovecotServer(TestCA(), users={MAILBOX: PASSWORD}) as untrusted:
        integration = make_integration(
            bounce_processing=True, bounce_imap_host="127.0.0.1",
            bounce_imap_port=untrusted.imaps_port, bounce_imap_username=MAILBOX,
            bounce_imap_password=PASSWORD)
        result = poll(integration)
    assert "certificate not trusted" in result.error
    assert BounceMailbox.objects.get().last_error == result.error


def test_a_wrong_password_says_so(dovecot):
    integration = make_integration(
        bounce_processing=True, bounce_imap_host="127.0.0.1",
        bounce_imap_port=dovecot.imaps_port, bounce_imap_username=MAILBOX,
        bounce_imap_password="wrong")
    result = poll(integration)
    assert result.error.startswith("IMAP login refused") and "password" in result.hint


def test_test_integration_logs_in_to_the_bounce_mailbox_and_says_what_it_found(dovecot):
    dovecot.deliver(MAILBOX, b"Subject: hello\r\n\r\nhi\r\n")
    with SmtpTestServer() as smtp:
        integration = make_integration(
            smtp, bounce_processing=True, bounce_imap_host="127.0.0.1",
            bounce_imap_port=dovecot.imaps_port, bounce_imap_username=MAILBOX,
            bounce_imap_password=PASSWORD)
        report = run_diagnostics(integration, to="someone@example.org")
    step = report.steps[-1]
    assert (step.name, step.status) == ("imap", "ok") and report.ok
    assert step.details["messages_in_inbox"] == 1


def test_test_integration_says_why_the_bounce_mailbox_cannot_be_read(dovecot):
    with SmtpTestServer() as smtp:
        integration = make_integration(
            smtp, bounce_processing=True, bounce_imap_host="127.0.0.1",
            bounce_imap_port=dovecot.imaps_port, bounce_imap_username=MAILBOX,
            bounce_imap_password="wrong")
        report = run_diagnostics(integration, to="someone@example.org")
    assert report.failed_step.name == "imap" and not report.ok, report.as_json()
    assert "login refused" in report.failed_step.text and report.failed_step.hint


def test_an_oauth2_integration_reads_its_own_mailbox_with_xoauth2(test_ca, settings):
    from tests.oauth_fixtures import G_CLIENT, G_MAILBOX, G_REFRESH, G_SECRET, google_integration
    from tests.support.imap_server import IntrospectingGoogleToken

    _require_dovecot()
    with IntrospectingGoogleToken(test_ca.server_context(), {G_CLIENT: G_SECRET},
                                  {G_REFRESH: (G_CLIENT, G_MAILBOX)}) as idp, \
            DovecotServer(test_ca, users={G_MAILBOX: "only-for-the-test-to-deliver"},
                          introspection_url=idp.introspection_url) as server, \
            SmtpTestServer() as smtp:
        settings.GOOGLE_TOKEN_URL = idp.token_url
        integration = google_integration(
            smtp, auth_type="none", bounce_processing=True, bounce_imap_host="127.0.0.1",
            bounce_imap_port=server.imaps_port)
        message = send_email(to=["gone@example.org"], subject="s", text="x",
                             kind="marketing", integration=integration)
        engine.drain(integration.pk)
        [sent] = smtp.wait_for_messages(1)
        integration.auth_type = "oauth2"
        integration.save()
        server.deliver(G_MAILBOX, sample("postfix_dsn", message_id=sent.parsed["Message-ID"],
                                         recipient="gone@example.org", sender=G_MAILBOX))
        result = poll(integration)
        log = server.log()
    assert result.error == "", (result.error, log[-4000:])
    assert "method=XOAUTH2" in log
    assert FeedbackEvent.objects.get().message_id == message.pk
