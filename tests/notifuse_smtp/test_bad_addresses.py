"""Hand-made addresses get a clear 400, never a server error page."""

from __future__ import annotations

import pytest

from tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", [
    "/admin/delivery/message/?status__exact=%00",
    "/admin/integrations/smtpintegration/?auth_type__exact=%00",
    "/portal/messages/?q=a%00b",
    "/portal/messages/?%00=x",
])
def test_a_nul_character_in_the_query_string_is_a_400(admin_client, url):
    make_integration()
    response = admin_client.get(url)
    assert response.status_code == 400
    assert b"NUL character" in response.content


def test_an_ordinary_filter_still_works(admin_client):
    make_integration()
    assert admin_client.get("/admin/delivery/message/?status__exact=queued").status_code == 200


@pytest.mark.parametrize("url", [
    "/admin/delivery/message/?created_at__year=99999999999999999999",
    "/admin/delivery/message/?created_at__year=2026&created_at__month=13",
    "/admin/integrations/smtpintegration/?created_at__year=0",
    "/admin/integrations/integrationtest/?created_at__year=-1",
])
def test_an_impossible_list_filter_gets_the_invalid_lookup_page(admin_client, url):
    make_integration()
    response = admin_client.get(url, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[-1][0].endswith("?e=1")
