"""Suppressed addresses are recorded at queue time and never mailed; the rest still go."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command

from delivery import engine, suppressions
from delivery.api import send_bulk, send_email
from delivery.models import Message, Status, Suppression
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db


def _drain(integration) -> None:
    engine.drain(integration.pk)


def test_a_hard_bounced_address_gets_no_marketing_mail():
    suppressions.suppress("gone@example.org", "hard_bounce")
    with SmtpTestServer() as server:
        integration = make_integration(server)
        message = send_email(to=["gone@example.org"], subject="s", text="x",
                             kind="marketing", integration=integration)
        _drain(integration)
        assert server.messages == []
    message.refresh_from_db()
    assert message.status == Status.SUPPRESSED
    assert message.suppressed_recipients == {"gone@example.org": "hard_bounce"}


def test_send_bulk_counts_the_suppressed_and_sends_to_the_others():
    suppressions.suppress("Gone@Example.org", "complaint")
    with SmtpTestServer() as server:
        integration = make_integration(server)
        result = send_bulk([
            {"to": [address], "subject": "s", "text": "x", "integration": integration}
            for address in ("a@example.org", "gone@example.org", "b@example.org")
        ])
        _drain(integration)
        assert sorted(r for m in server.messages for r in m.rcpt_tos) == [
            "a@example.org", "b@example.org"]
    assert result.suppressed == 1
    statuses = {m.to[0]: Message.objects.get(pk=m.pk).status for m in result}
    assert statuses == {"a@example.org": Status.SENT, "gone@example.org": Status.SUPPRESSED,
                        "b@example.org": Status.SENT}


def test_a_message_with_others_left_goes_to_them_and_records_the_suppressed_one():
    suppressions.suppress("gone@example.org", "unsubscribe")
    with SmtpTestServer() as server:
        integration = make_integration(server)
        message = send_email(to=["a@example.org"], cc=["gone@example.org"], subject="s",
                             text="x", kind="marketing", integration=integration)
        _drain(integration)
        [received] = server.messages
    assert received.rcpt_tos == ["a@example.org"]
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert message.suppressed_recipients == {"gone@example.org": "unsubscribe"}


def test_transactional_mail_to_a_soft_bounced_address_still_goes():
    for days_ago in range(10, 0, -1):
        score = suppressions.score_soft_bounce("soft@example.org",
                                               today=date.today() - timedelta(days=days_ago))
    assert suppressions.over_threshold(score)
    suppressions.suppress("soft@example.org", "soft_bounce_score")
    with SmtpTestServer() as server:
        integration = make_integration(server)
        transactional = send_email(to=["soft@example.org"], subject="s", text="x",
                                   integration=integration)
        marketing = send_email(to=["soft@example.org"], subject="s", text="x",
                               kind="marketing", integration=integration)
        _drain(integration)
        assert len(server.messages) == 1
    assert Message.objects.get(pk=transactional.pk).status == Status.SENT
    assert Message.objects.get(pk=marketing.pk).status == Status.SUPPRESSED


def test_transactional_mail_to_a_hard_bounced_address_is_suppressed():
    suppressions.suppress("gone@example.org", "hard_bounce")
    message = send_email(to=["gone@example.org"], subject="s", text="x",
                         integration=make_integration())
    assert Message.objects.get(pk=message.pk).status == Status.SUPPRESSED


def test_a_setting_narrows_what_stops_transactional_mail(settings):
    settings.SUPPRESS_TRANSACTIONAL_FOR = []
    suppressions.suppress("gone@example.org", "hard_bounce")
    message = send_email(to=["gone@example.org"], subject="s", text="x",
                         integration=make_integration())
    assert Message.objects.get(pk=message.pk).status == Status.QUEUED


def test_domains_compare_by_their_a_label_and_case_does_not_matter():
    suppressions.suppress("Anna@Bücher.example", "manual", scope="all", by="staff")
    assert Suppression.objects.get().address == "anna@xn--bcher-kva.example"
    message = send_email(to=["ANNA@xn--BCHER-kva.example"], subject="s", text="x",
                         integration=make_integration())
    assert Message.objects.get(pk=message.pk).status == Status.SUPPRESSED


def test_a_wider_suppression_replaces_a_narrower_one_and_never_the_reverse():
    first = suppressions.suppress("x@example.org", "unsubscribe")
    assert first.scope == "marketing"
    assert suppressions.suppress("x@example.org", "hard_bounce").scope == "all"
    assert suppressions.suppress("x@example.org", "complaint") is None
    assert Suppression.objects.get().reason == "hard_bounce"


def test_soft_bounces_score_once_a_day_and_a_stale_score_starts_again():
    today = date(2026, 1, 10)
    assert suppressions.score_soft_bounce("s@example.org", today=today) == 0.5
    assert suppressions.score_soft_bounce("s@example.org", today=today) == 0.5
    assert suppressions.score_soft_bounce("s@example.org", today=today + timedelta(1)) == 1.0
    assert suppressions.score_soft_bounce("s@example.org", today=today + timedelta(30)) == 0.5


def test_removing_the_suppression_lets_mail_go_again():
    suppressions.suppress("back@example.org", "hard_bounce")
    assert suppressions.remove("Back@example.org")
    message = send_email(to=["back@example.org"], subject="s", text="x", kind="marketing",
                         integration=make_integration())
    assert Message.objects.get(pk=message.pk).status == Status.QUEUED


def test_the_csv_command_reports_how_many_were_suppressed(tmp_path, capsys):
    make_integration()
    suppressions.suppress("gone@example.org", "hard_bounce")
    csv = tmp_path / "list.csv"
    csv.write_text("to,subject,text\na@example.org,s,x\ngone@example.org,s,x\n")
    call_command("send_bulk", str(csv))
    assert "1 recipient(s) on the suppression list" in capsys.readouterr().out
