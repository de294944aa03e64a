"""The staff portal: who may open which page, and which links each one sees."""

from __future__ import annotations

import pytest

from delivery.models import Message, Status
from tests.factories import make_integration
from tests.portal.helpers import PAGES, make_message, page_of, staff_with

pytestmark = pytest.mark.django_db


def every_url() -> list[tuple[str, str]]:
    message = make_message(make_integration(), status=Status.FAILED)
    return [
        *(("get", url) for url in PAGES),
        ("get", f"/portal/messages/{message.pk}/"),
        ("post", f"/portal/messages/{message.pk}/retry/"),
        ("post", "/portal/messages/retry-failed/"),
        ("post", "/portal/test/"),
    ]


def test_anonymous_users_are_sent_to_login_from_every_page(client):
    for method, url in every_url():
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    assert Message.objects.get().status == Status.FAILED


def test_logged_in_users_without_staff_status_are_sent_to_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("user", "u@example.com", "pw"))
    for method, url in every_url():
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    assert Message.objects.get().status == Status.FAILED


def test_staff_without_permissions_can_neither_read_nor_retry_messages(client,
                                                                       django_user_model):
    client.force_login(staff_with(django_user_model))
    message = make_message(make_integration(), status=Status.FAILED, text="Private body",
                           to=["secret-recipient@example.org"])
    for url in ("/portal/messages/", f"/portal/messages/{message.pk}/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"secret-recipient@example.org" not in response.content
    for url in (f"/portal/messages/{message.pk}/retry/", "/portal/messages/retry-failed/"):
        assert client.post(url).status_code == 403, url
    message.refresh_from_db()
    assert message.status == Status.FAILED


def test_staff_without_permission_to_view_integrations_see_neither_dashboard_nor_test_page(
        client, django_user_model):
    client.force_login(staff_with(django_user_model, "view_message"))
    make_integration(name="Hidden", host="smtp.hidden.example",
                     needs_attention_reason="auth: 535 5.7.8 bad credentials")
    for url in ("/portal/", "/portal/test/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"smtp.hidden.example" not in response.content and b"Hidden" not in response.content
    nav = page_of(client, "/portal/messages/")
    assert 'href="/portal/test/"' not in nav and 'href="/portal/"' not in nav  # no dead links
    assert '<a class="brand" href="/portal/messages/">' in nav


def test_viewing_integrations_opens_the_dashboard_and_test_page_but_not_the_log(
        client, django_user_model):
    client.force_login(staff_with(django_user_model, "view_smtpintegration"))
    make_integration(name="Shown", host="smtp.shown.example", sender="app@example.com")
    assert "smtp.shown.example" in page_of(client, "/portal/")
    test_page = page_of(client, "/portal/test/")
    assert ">Shown</option>" in test_page
    assert "app@example.com" not in test_page  # senders need permission to view senders
    assert 'href="/portal/messages/"' not in page_of(client, "/portal/")


def test_staff_who_may_view_messages_but_not_retry_see_no_retry_and_cannot_forge_one(
        client, django_user_model):
    client.force_login(staff_with(django_user_model, "view_message"))
    message = make_message(make_integration(), status=Status.FAILED, text="Readable body")
    assert "Readable body" in page_of(client, f"/portal/messages/{message.pk}/")
    assert 'id="retry"' not in page_of(client, f"/portal/messages/{message.pk}/")
    assert 'id="retry-failed"' not in page_of(client, "/portal/messages/")
    for url in (f"/portal/messages/{message.pk}/retry/", "/portal/messages/retry-failed/"):
        assert client.post(url).status_code == 403, url
    message.refresh_from_db()
    assert message.status == Status.FAILED


def test_the_nav_links_every_section_and_logs_out_with_a_post(staff):
    html = page_of(staff, "/portal/")
    for href in ('href="/portal/"', 'href="/portal/messages/"', 'href="/portal/test/"',
                 'href="/admin/"'):
        assert href in html
    assert '<form class="logout" method="post" action="/admin/logout/">' in html
    assert "portal/portal.css" in html
