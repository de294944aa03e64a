"""The Suppressions page (portal and admin): search, add, remove, import and export."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from delivery import suppressions
from delivery.api import send_email
from delivery.models import Message, Status, Suppression
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


def _staff(client, django_user_model, *codenames: str):
    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw",
                                                 is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@pytest.fixture
def manager(client, django_user_model):
    return _staff(client, django_user_model, "view_suppression", "add_suppression",
                  "remove_suppression", "view_message")


def test_the_page_lists_and_searches_the_list(manager):
    suppressions.suppress("gone@example.org", "hard_bounce")
    suppressions.suppress("other@example.net", "complaint")
    page = manager.get("/portal/suppressions/?q=GONE").content.decode()
    assert 'data-address="gone@example.org"' in page
    assert "other@example.net" not in page


def test_staff_add_an_address_with_its_scope(manager):
    response = manager.post("/portal/suppressions/add/",
                            {"address": "Someone@Example.org", "scope": "marketing",
                             "note": "asked by phone"})
    assert response.status_code == 302
    entry = Suppression.objects.get()
    assert (entry.address, entry.reason, entry.scope, entry.created_by, entry.note) == (
        "someone@example.org", "manual", "marketing", "staff", "asked by phone")


def test_removing_in_the_portal_lets_mail_go_again(manager):
    suppressions.suppress("back@example.org", "hard_bounce")
    integration = make_integration()
    held = send_email(to=["back@example.org"], subject="s", text="x", kind="marketing",
                      integration=integration)
    assert Message.objects.get(pk=held.pk).status == Status.SUPPRESSED
    manager.post(f"/portal/suppressions/{Suppression.objects.get().pk}/remove/")
    assert not Suppression.objects.exists()
    again = send_email(to=["back@example.org"], subject="s", text="x", kind="marketing",
                       integration=integration)
    assert Message.objects.get(pk=again.pk).status == Status.QUEUED


def test_removing_needs_its_own_permission(client, django_user_model):
    staff = _staff(client, django_user_model, "view_suppression", "add_suppression")
    suppressions.suppress("gone@example.org", "hard_bounce")
    response = staff.post(f"/portal/suppressions/{Suppression.objects.get().pk}/remove/")
    assert response.status_code == 403
    assert Suppression.objects.count() == 1
    assert b"Remove</button>" not in staff.get("/portal/suppressions/").content


def test_csv_import_adds_addresses_and_skips_what_is_not_one(manager):
    upload = SimpleUploadedFile("list.csv", b"address,scope\na@example.org,marketing\n"
                                b"not an address,\nB@example.org,\n")
    manager.post("/portal/suppressions/import/", {"file": upload, "scope": "all"})
    assert dict(Suppression.objects.values_list("address", "scope")) == {
        "a@example.org": "marketing", "b@example.org": "all"}


def test_csv_export_holds_every_entry(manager):
    suppressions.suppress("gone@example.org", "hard_bounce")
    response = manager.get("/portal/suppressions/export.csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "address,reason,scope,created_at,created_by,note"
    assert lines[1].startswith("gone@example.org,hard_bounce,all,")


def test_the_message_page_shows_the_suppressed_recipient(manager):
    suppressions.suppress("gone@example.org", "complaint")
    message = send_email(to=["a@example.org", "gone@example.org"], subject="s", text="x",
                         kind="marketing", integration=make_integration())
    page = manager.get(f"/portal/messages/{message.pk}/").content.decode()
    assert "gone@example.org: not sent (complaint" in page


def test_the_admin_adds_through_the_list_and_deletes_with_the_remove_permission(
    admin_client,
):
    admin_client.post("/admin/delivery/suppression/add/",
                      {"address": "X@Example.org", "scope": "all", "note": ""})
    entry = Suppression.objects.get()
    assert (entry.address, entry.reason) == ("x@example.org", "manual")
    admin_client.post(f"/admin/delivery/suppression/{entry.pk}/delete/", {"post": "yes"})
    assert not Suppression.objects.exists()
