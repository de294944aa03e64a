"""GET/POST /api/v1/suppressions and GET/DELETE /suppressions/{address}: the list over HTTP,
behind the `suppressions` scope, and what send_email then does with an address added there."""

from __future__ import annotations

import pytest

from delivery import suppressions
from delivery.api import send_email
from delivery.models import Status, Suppression
from tests.delivery.api_client import ApiClient, make_key
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> ApiClient:
    return ApiClient(make_key(scopes=["suppressions"], name="crm")[1])


def test_an_address_added_is_listed_fetched_and_deleted(client):
    response = client.post(
        "/suppressions", {"address": "Ada Lovelace <Ada@Example.ORG>", "note": "asked by phone"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["address"], body["reason"], body["scope"], body["note"], body["created_by"]) == (
        "ada@example.org",
        "manual",
        "all",
        "asked by phone",
        "API key crm",
    )
    assert body["links"]["self"] == "/api/v1/suppressions/ada@example.org"
    assert client.get("/suppressions/ADA@example.org").json()["address"] == "ada@example.org"
    assert [e["address"] for e in client.get("/suppressions").json()["items"]] == [
        "ada@example.org"
    ]
    assert client.delete("/suppressions/Ada@Example.org").status_code == 204
    assert not Suppression.objects.exists()
    assert client.delete("/suppressions/ada@example.org").status_code == 404
    assert client.get("/suppressions/ada@example.org").status_code == 404


def test_adding_an_address_already_suppressed_answers_200_and_keeps_the_entry(client):
    suppressions.suppress("bob@example.org", "complaint", scope="marketing")
    again = client.post("/suppressions", {"address": "bob@example.org", "reason": "unsubscribe"})
    assert again.status_code == 200
    assert (again.json()["reason"], again.json()["scope"]) == ("complaint", "marketing")
    widened = client.post("/suppressions", {"address": "BOB@example.org", "scope": "all"})
    assert widened.status_code == 200
    assert (widened.json()["scope"], widened.json()["reason"]) == ("all", "manual")
    assert Suppression.objects.get().scope == "all"
    assert client.post("/suppressions", {"address": "bob@example.org"}).status_code == 200


def test_an_internationalised_domain_is_stored_and_found_by_its_a_label(client):
    body = client.post("/suppressions", {"address": "anna@bücher.example"}).json()
    assert body["address"] == "anna@xn--bcher-kva.example"
    assert client.get("/suppressions/anna@Bücher.example").status_code == 200
    found = client.get("/suppressions", address="@BÜCHER.example").json()["items"]
    assert [e["address"] for e in found] == ["anna@xn--bcher-kva.example"]


def test_an_address_with_a_slash_works_in_the_path(client):
    assert client.post("/suppressions", {"address": "a/b@example.org"}).status_code == 201
    assert client.get("/suppressions/a%2Fb@example.org").json()["address"] == "a/b@example.org"
    assert client.delete("/suppressions/a%2Fb@example.org").status_code == 204


def test_the_list_filters_by_address_and_reason_and_pages_with_a_cursor(client):
    for i in range(5):
        suppressions.suppress(f"user{i}@example.org", "hard_bounce")
    suppressions.suppress("someone@other.example", "unsubscribe")

    def addresses(**params) -> list[str]:
        return [e["address"] for e in client.get("/suppressions", **params).json()["items"]]

    assert addresses(address="OTHER") == ["someone@other.example"]
    assert addresses(reason="unsubscribe", scope="marketing") == ["someone@other.example"]
    assert addresses(reason="complaint") == []
    first = client.get("/suppressions", reason="hard_bounce", limit=2).json()
    second = client.get(
        "/suppressions", reason="hard_bounce", limit=2, cursor=first["next_cursor"]
    ).json()
    third = client.get(
        "/suppressions", reason="hard_bounce", limit=2, cursor=second["next_cursor"]
    ).json()
    seen = [e["address"] for page in (first, second, third) for e in page["items"]]
    assert seen == [f"user{i}@example.org" for i in (4, 3, 2, 1, 0)]
    assert third["next_cursor"] is None
    bad = client.get("/suppressions", cursor="not-ours")
    assert (bad.status_code, bad.json()["field"]) == (422, "cursor")


@pytest.mark.parametrize(
    "address",
    [
        "not an address",
        "a@",
        "ada@example.org\r\nBcc: x@y.z",
        "two@example.org, three@example.org",
        "nul\x00@example.org",
    ],
)
def test_a_bad_address_is_a_422_naming_the_field(client, address):
    response = client.post("/suppressions", {"address": address})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["field"] == "address"
    assert not Suppression.objects.exists()


def test_a_bad_address_in_the_path_is_a_422_and_a_bad_reason_too(client):
    deleted = client.delete("/suppressions/not-an-address")
    assert (deleted.status_code, deleted.json()["field"]) == (422, "address")
    refused = client.post(
        "/suppressions", {"address": "a@example.org", "reason": "soft_bounce_score"}
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "reason")


def test_keys_without_the_suppressions_scope_get_403_on_every_operation():
    suppressions.suppress("kept@example.org", "complaint")
    client = ApiClient(make_key(scopes=["send", "read"])[1])
    responses = [
        client.get("/suppressions"),
        client.get("/suppressions/kept@example.org"),
        client.post("/suppressions", {"address": "new@example.org"}),
        client.delete("/suppressions/kept@example.org"),
    ]
    assert [r.status_code for r in responses] == [403] * 4
    assert all(r.json()["type"].endswith("missing-scope") for r in responses)
    assert list(Suppression.objects.values_list("address", flat=True)) == ["kept@example.org"]


def test_a_revoked_key_gets_401():
    api_key, key = make_key(scopes=["suppressions"])
    api_key.revoke()
    client = ApiClient(key)
    assert client.get("/suppressions").status_code == 401
    response = client.post("/suppressions", {"address": "new@example.org"})
    assert response.status_code == 401 and not Suppression.objects.exists()


def test_an_address_suppressed_over_the_api_is_not_mailed_by_send_email(client):
    integration = make_integration()
    client.post("/suppressions", {"address": "Gone@Example.org"})
    client.post("/suppressions", {"address": "news-only@example.org", "reason": "unsubscribe"})
    receipt = send_email(
        to="gone@example.org", subject="receipt", text="x", integration=integration
    )
    assert (receipt.status, receipt.suppressed_recipients) == (
        Status.SUPPRESSED,
        {"gone@example.org": "manual"},
    )
    # An unsubscribe stops marketing mail only: the receipt still goes.
    news = send_email(
        to="news-only@example.org",
        subject="news",
        text="x",
        kind="marketing",
        integration=integration,
    )
    still = send_email(
        to="news-only@example.org", subject="receipt", text="x", integration=integration
    )
    assert (news.status, still.status) == (Status.SUPPRESSED, Status.QUEUED)
    client.delete("/suppressions/gone@example.org")
    again = send_email(to="gone@example.org", subject="receipt", text="x", integration=integration)
    assert again.status == Status.QUEUED


def test_the_openapi_document_describes_the_suppression_operations(client):
    schema = client.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/suppressions"]) == {"get", "post"}
    assert set(paths["/api/v1/suppressions/{address}"]) == {"get", "delete"}
    created = paths["/api/v1/suppressions"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/SuppressionOut"
    )
    assert set(created["201"]["links"]) == {"GetSuppression", "DeleteSuppression"}
    assert "204" in paths["/api/v1/suppressions/{address}"]["delete"]["responses"]


def test_staff_grant_the_scope_in_the_admin_key_form(admin_client):
    form = admin_client.get("/admin/delivery/apikey/add/").content.decode()
    assert 'value="suppressions"' in form
    response = admin_client.post(
        "/admin/delivery/apikey/add/", {"name": "crm", "scopes": ["suppressions"]}
    )
    client = ApiClient(response.context["secret"])
    assert client.post("/suppressions", {"address": "x@example.org"}).status_code == 201
    assert client.get("/messages").status_code == 403
