"""The send log in the admin: the list, the attempts, and a retry that only queues."""

from __future__ import annotations

import pytest

from datetime import timedelta

from django.utils import timezone

from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from integrations.failures.catalog import rule
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


def test_the_message_list_filters_and_searches(admin_client):
    make_integration()
    send_email(to="carol@example.org", subject="Invoice 7", text="x")
    send_email(to="dave@example.org", subject="Greetings Dave", text="x")
    sent = send_email(to="carol@example.org", subject="Invoice 6", text="x")
    Message.objects.filter(pk=sent.pk).update(status=Status.SENT)
    html = admin_client.get("/admin/delivery/message/?q=carol").content.decode()
    # Queued and sent mail alike: the search indexes hold sent mail only.
    assert "Invoice 7" in html and "Invoice 6" in html and "Greetings Dave" not in html
    by_id = admin_client.get(f"/admin/delivery/message/?q=<notifuse-smtp.{sent.pk}.1@x>")
    assert "Invoice 6" in by_id.content.decode() and "Invoice 7" not in by_id.content.decode()
    queued = admin_client.get("/admin/delivery/message/?status=queued").content.decode()
    assert "Greetings Dave" in queued


def test_the_retry_action_queues_failed_messages_without_sending(admin_client):
    make_integration()
    message = send_email(to="bob@example.org", subject="x", text="x")
    Message.objects.filter(pk=message.pk).update(status=Status.FAILED)
    SendAttempt.objects.create(message=message, integration=message.integration, number=1,
                               started_at=message.created_at, stage="rcpt", smtp_code=450,
                               error="Mailbox busy", hint=rule("smtp.4xx").hint)
    change = admin_client.get(f"/admin/delivery/message/{message.pk}/change/").content.decode()
    assert "Mailbox busy" in change and rule("smtp.4xx").hint in change
    asked = admin_client.post("/admin/delivery/message/", {
        "action": "retry_messages", "_selected_action": [message.pk],
    })
    assert 'id="retry-count">1<' in asked.content.decode()
    assert Message.objects.get(pk=message.pk).status == Status.FAILED  # asked, not done
    response = admin_client.post("/admin/delivery/message/", {
        "action": "retry_messages", "_selected_action": [message.pk], "confirm": "yes",
    }, follow=True)
    assert "1 message(s) queued again" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.attempts.count() == 1


def test_the_message_page_is_read_only_and_cannot_touch_the_row(admin_client):
    # "Save" used to rewrite the row: a failed message of last week then counted as failed
    # in the last 24 hours on the dashboard.
    make_integration()
    message = send_email(to="bob@example.org", subject="x", text="x")
    last_week = timezone.now() - timedelta(days=7)
    Message.objects.filter(pk=message.pk).update(status=Status.FAILED, updated_at=last_week)
    url = f"/admin/delivery/message/{message.pk}/change/"
    assert 'name="_save"' not in admin_client.get(url).content.decode()
    response = admin_client.post(url, {
        "attempts-TOTAL_FORMS": "0", "attempts-INITIAL_FORMS": "0",
        "attempts-MIN_NUM_FORMS": "0", "attempts-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 403
    message.refresh_from_db()
    assert (message.status, message.updated_at) == (Status.FAILED, last_week)


def staff_who_may_only_view_messages(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", "v@example.com", "pw",
                                                 is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_message"))
    return user


def test_staff_who_may_only_view_messages_are_not_offered_retry_nor_can_forge_it(
        client, django_user_model):
    client.force_login(staff_who_may_only_view_messages(django_user_model))
    make_integration()
    message = send_email(to="bob@example.org", subject="x", text="x")
    Message.objects.filter(pk=message.pk).update(status=Status.FAILED)
    changelist = client.get("/admin/delivery/message/")
    assert changelist.status_code == 200
    assert "retry_messages" not in changelist.content.decode()
    client.post("/admin/delivery/message/", {
        "action": "retry_messages", "_selected_action": [message.pk],
    })
    message.refresh_from_db()
    assert message.status == Status.FAILED


def test_staff_given_the_retry_permission_may_retry(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = staff_who_may_only_view_messages(django_user_model)
    user.user_permissions.add(Permission.objects.get(codename="retry_message"))
    client.force_login(user)
    make_integration()
    message = send_email(to="bob@example.org", subject="x", text="x")
    Message.objects.filter(pk=message.pk).update(status=Status.FAILED)
    response = client.post("/admin/delivery/message/", {
        "action": "retry_messages", "_selected_action": [message.pk], "confirm": "yes",
    }, follow=True)
    assert "1 message(s) queued again" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.QUEUED


def test_the_message_page_shows_addresses_bodies_and_source_but_no_internals(admin_client):
    integration = make_integration(name="Company SMTP")
    message = send_email(to=["Ada <ada@example.org>", "bob@example.org"], subject="Invoice",
                         text="Plain text", html="<p>Hi</p>", integration=integration)
    Message.objects.filter(pk=message.pk).update(status=Status.SENT, sent_at=timezone.now())
    html = admin_client.get(f"/admin/delivery/message/{message.pk}/change/").content.decode()
    assert "Ada &lt;ada@example.org&gt;, bob@example.org" in html  # not a JSON list
    assert '<iframe sandbox srcdoc="&lt;p&gt;Hi&lt;/p&gt;"' in html
    assert "Plain text" in html and "Message-ID: &lt;notifuse-smtp." in html
    assert f'/admin/integrations/smtpintegration/{integration.pk}/change/">Company SMTP' in html
    for internal in ("Claim token", "Lease expires", "Next attempt at", "Attempts before"):
        assert internal not in html, internal


def test_the_admin_is_named_for_the_project_and_its_login_asks_for_the_email(client):
    from django.contrib.auth import get_user_model

    html = client.get("/admin/login/").content.decode()
    assert 'for="id_username"' in html and ">Email:</label>" in html
    assert "notifuse-smtp" in html and "Django administration" not in html
    get_user_model().objects.create_superuser("ops", "ops@example.com", "ops-pass-123")
    response = client.post("/admin/login/?next=/admin/", {
        "username": "OPS@example.com", "password": "ops-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    index = client.get("/admin/").content.decode()
    assert "SMTP integrations, senders and the send log" in index
    crumbs = client.get("/admin/integrations/smtpintegration/").content.decode()
    crumbs = crumbs.split('<div class="breadcrumbs">')[1].split("</div>")[0]
    assert "Integrations" in crumbs and crumbs.count("SMTP integrations") == 1


def test_held_mail_shows_as_held_with_its_reason_in_the_admin_and_filters_apart(admin_client):
    from django.utils.formats import date_format

    since = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    broken = make_integration(name="Broken", needs_attention_reason="auth: 535 5.7.8 bad",
                              needs_attention_hint=rule("smtp.535").hint,
                              needs_attention_since=since)
    held = send_email(to="bob@example.org", subject="Stuck invoice", text="x",
                      integration=broken)
    waiting = send_email(to="carol@example.org", subject="Backing off", text="x",
                         integration=make_integration())
    page = admin_client.get(f"/admin/delivery/message/{held.pk}/change/").content.decode()
    when = date_format(timezone.localtime(since), "DATETIME_FORMAT")
    assert f"Held: auth: 535 5.7.8 bad since {when}" in page
    assert rule("smtp.535").hint in page and "next attempt" not in page
    page = admin_client.get(f"/admin/delivery/message/{waiting.pk}/change/").content.decode()
    assert "Queued, next attempt 20" in page and "Held:" not in page
    listed = admin_client.get("/admin/delivery/message/?status=held").content.decode()
    assert "Stuck invoice" in listed and "Backing off" not in listed
    assert '<td class="field-status_shown">Held</td>' in listed
    queued = admin_client.get("/admin/delivery/message/?status=queued").content.decode()
    assert "Stuck invoice" in queued and "Backing off" in queued
    assert '<td class="field-status_shown">Queued</td>' in queued
