"""Self-tests for tests/support/fake_idp.py: real msal and requests against the fakes over TLS.

Plain pytest, no Django: `pytest -p no:django --noconftest tests/test_support_fake_idp.py`
(the suite's conftest needs Django settings and Redis; these tests use neither).
"""

from __future__ import annotations

import json
import ssl
from concurrent.futures import ThreadPoolExecutor

import msal
import pytest
import requests
import trustme
from msal.exceptions import MsalServiceError

from tests.support.fake_idp import (
    OUTLOOK_SCOPE,
    AuthCode,
    FakeGoogleToken,
    FakeMicrosoftIdentity,
    xoauth2_validator,
)

TENANT = "contoso.onmicrosoft.com"
MS_CLIENT, MS_SECRET = "11111111-2222-3333-4444-555555555555", "ms-secret-VALUE"
G_CLIENT, G_SECRET = "g-client.apps.googleusercontent.com", "GOCSPX-secret"
G_OTHER_CLIENT, G_OTHER_SECRET = "other.apps.googleusercontent.com", "GOCSPX-other"
G_REFRESH, G_MAILBOX = "1//0g-refresh-token", "sender@gmail.example"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(autouse=True)
def trust_ca(ca, tmp_path, monkeypatch) -> str:
    """requests (and msal through it) trust only the test CA, with no proxy in the way."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)  # requests' fallback variable
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return str(bundle)


@pytest.fixture
def microsoft(server_context):
    tenants = {TENANT: {MS_CLIENT: MS_SECRET, "expired-client": "x"}}
    error_for = {"expired-client": (401, "invalid_client", 7000222,
                                    "The provided client secret keys for app are expired.")}
    with FakeMicrosoftIdentity(server_context, tenants, error_for=error_for) as idp:
        yield idp


@pytest.fixture
def google(server_context):
    with FakeGoogleToken(
        server_context,
        clients={G_CLIENT: G_SECRET, G_OTHER_CLIENT: G_OTHER_SECRET},
        refresh_tokens={G_REFRESH: (G_CLIENT, G_MAILBOX)},
    ) as idp:
        yield idp


def msal_app(idp, client_id=MS_CLIENT, secret=MS_SECRET, tenant=TENANT):
    return msal.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=idp.authority(tenant),
        instance_discovery=False,
    )


def acquire(app) -> dict:
    return app.acquire_token_for_client(scopes=[OUTLOOK_SCOPE])


def refresh(google, refresh_token=G_REFRESH, client_id=G_CLIENT, secret=G_SECRET):
    return requests.post(google.token_url, data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
        "refresh_token": refresh_token,
    }, timeout=10)


def exchange(google, code, redirect_uri="http://localhost"):
    data = {"grant_type": "authorization_code", "code": code, "client_id": G_CLIENT,
            "client_secret": G_SECRET, "redirect_uri": redirect_uri}
    return requests.post(google.token_url, data={k: v for k, v in data.items() if v},
                         timeout=10)


# -- Microsoft through msal ----------------------------------------------------------------


def test_msal_gets_a_token_with_one_discovery_and_one_token_request(microsoft):
    result = acquire(msal_app(microsoft))
    assert set(result) >= {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599
    assert result["token_source"] == "identity_provider"  # msal adds it
    assert (microsoft.discovery_requests, microsoft.token_requests) == (1, 1)
    assert microsoft.issued == {result["access_token"]}
    assert microsoft.is_valid(result["access_token"])


def test_msal_answers_a_second_acquire_from_its_own_cache(microsoft):
    app = msal_app(microsoft)
    first, second = acquire(app), acquire(app)
    assert second["access_token"] == first["access_token"]
    assert second["token_source"] == "cache"
    assert microsoft.token_requests == 1


def test_tokens_are_unique_and_expire_on_request(microsoft):
    tokens = [acquire(msal_app(microsoft))["access_token"] for _ in range(2)]
    assert len(set(tokens)) == 2
    microsoft.expire(tokens[0])
    assert not microsoft.is_valid(tokens[0]) and microsoft.is_valid(tokens[1])
    assert not microsoft.is_valid("never-issued")


def test_wrong_secret_comes_back_from_msal_as_an_invalid_client_dict(microsoft):
    result = acquire(msal_app(microsoft, secret="the-secret-ID-not-its-value"))
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(result)
    assert "access_token" not in result and not microsoft.issued


def test_unknown_client_comes_back_as_unauthorized_client_700016(microsoft):
    result = acquire(msal_app(microsoft, client_id="no-such-app"))
    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]
    assert "'no-such-app' was not found" in result["error_description"]


def test_unknown_tenant_makes_the_msal_constructor_raise_value_error(microsoft):
    with pytest.raises(ValueError, match="Unable to get authority configuration") as caught:
        msal_app(microsoft, tenant="no-such-tenant.example")
    assert "AADSTS" not in str(caught.value)  # msal drops the body from its own message
    inner = str(caught.value.__context__)
    assert "HTTP status: 400" in inner and "invalid_tenant" in inner and "AADSTS90002" in inner
    assert (microsoft.discovery_requests, microsoft.token_requests) == (1, 0)


def test_msal_remembers_a_400_answer_but_not_a_401(microsoft):
    unknown = msal_app(microsoft, client_id="no-such-app")
    assert acquire(unknown)["error"] == acquire(unknown)["error"] == "unauthorized_client"
    assert microsoft.token_requests == 1  # the second 400 came from msal's HTTP cache
    wrong = msal_app(microsoft, secret="wrong")
    assert acquire(wrong)["error"] == acquire(wrong)["error"] == "invalid_client"
    assert microsoft.token_requests == 3


def test_error_for_forces_an_answer_for_a_client(microsoft):
    result = acquire(msal_app(microsoft, client_id="expired-client", secret="x"))
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000222]


def test_unknown_tenant_at_the_token_endpoint_is_invalid_request_90002(microsoft):
    url = f"{microsoft.authority('no-such-tenant')}/oauth2/v2.0/token"
    response = requests.post(url, data={"client_id": MS_CLIENT, "client_secret": MS_SECRET,
                                        "scope": OUTLOOK_SCOPE,
                                        "grant_type": "client_credentials"}, timeout=10)
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["error_codes"]) == ("invalid_request",
                                                                          [90002])


def test_client_secret_in_http_basic_is_accepted(microsoft):
    url = f"{microsoft.authority(TENANT)}/oauth2/v2.0/token"
    response = requests.post(url, auth=(MS_CLIENT, MS_SECRET), timeout=10, data={
        "scope": OUTLOOK_SCOPE, "grant_type": "client_credentials"})
    assert response.status_code == 200 and microsoft.is_valid(response.json()["access_token"])


def test_a_transient_503_raises_msal_service_error_and_msal_remembers_it(microsoft):
    microsoft.fail_next_with_status(503)
    app = msal_app(microsoft)
    for _ in range(2):  # the retry is answered from msal's throttle cache (5 s)
        with pytest.raises(MsalServiceError, match=r"^HTTP Error: 503$"):
            acquire(app)
    assert microsoft.token_requests == 1


def test_retry_after_zero_lets_msal_retry_reach_the_server(microsoft):
    microsoft.fail_next_with_status(500, retry_after=0)
    app = msal_app(microsoft)
    with pytest.raises(MsalServiceError, match="HTTP Error: 500"):
        acquire(app)
    assert "access_token" in acquire(app)
    assert microsoft.token_requests == 2


def test_a_throttled_discovery_makes_the_msal_constructor_raise_value_error_too(microsoft):
    microsoft.fail_next_discovery_with_status(429, html=True)
    with pytest.raises(ValueError, match="Unable to get authority configuration") as caught:
        msal_app(microsoft)
    inner = str(caught.value.__context__)
    assert "HTTP status: 429" in inner and "<html>" in inner
    assert "access_token" in acquire(msal_app(microsoft))  # the failure was used up


def test_a_token_answer_that_is_a_page_makes_msal_raise_json_decode_error(microsoft):
    microsoft.fail_next_with_status(429, retry_after=0, html=True)
    app = msal_app(microsoft)
    with pytest.raises(json.JSONDecodeError):
        acquire(app)
    assert "access_token" in acquire(app)


def test_an_unknown_path_is_an_html_404(microsoft):
    response = requests.get(f"{microsoft.base_url}/nowhere", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")


def test_the_5xx_body_is_entra_shaped(microsoft):
    microsoft.fail_next_with_status(503)
    url = f"{microsoft.authority(TENANT)}/oauth2/v2.0/token"
    response = requests.post(url, data={}, timeout=10)
    assert response.status_code == 503 and "Retry-After" not in response.headers
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.json()["error_codes"] == [50033]


def test_localhost_works_as_the_host_name_too(server_context):
    with FakeMicrosoftIdentity(server_context, {TENANT: {MS_CLIENT: MS_SECRET}},
                               hostname="localhost") as idp:
        assert idp.authority_host.startswith("https://localhost:")
        assert "access_token" in acquire(msal_app(idp))


# -- Google through requests ----------------------------------------------------------------


def test_refresh_token_grant_answers_an_access_token_for_the_mailbox(google):
    response = refresh(google)
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert (body["token_type"], body["scope"]) == ("Bearer", "https://mail.google.com/")
    assert google.is_valid(body["access_token"])
    assert google.mailbox_for(body["access_token"]) == G_MAILBOX
    assert google.token_requests == 1 and google.issued == {body["access_token"]}


@pytest.mark.parametrize(
    ("kwargs", "status", "error", "description"),
    [
        ({"refresh_token": "1//unknown"}, 400, "invalid_grant",
         "Token has been expired or revoked."),
        ({"client_id": G_OTHER_CLIENT, "secret": G_OTHER_SECRET}, 400, "unauthorized_client",
         "Unauthorized"),
        ({"secret": "rotated-away"}, 401, "invalid_client", "Unauthorized"),
        ({"client_id": "deleted.apps", "secret": "x"}, 401, "invalid_client",
         "The OAuth client was not found."),
    ],
)
def test_refresh_errors_look_like_google(google, kwargs, status, error, description):
    response = refresh(google, **kwargs)
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": description}
    assert not google.issued


def test_a_revoked_refresh_token_is_invalid_grant(google):
    google.revoke(G_REFRESH)
    assert refresh(google).json()["error"] == "invalid_grant"


def test_rotation_answers_a_new_refresh_token_and_keeps_the_old(google):
    google.rotate_refresh_token = True
    rotated = refresh(google).json()["refresh_token"]
    assert rotated != G_REFRESH
    assert refresh(google, refresh_token=rotated).status_code == 200
    assert refresh(google).status_code == 200


def test_auth_code_exchange_answers_a_refresh_token_once(google):
    google.auth_codes["4/0code"] = (G_CLIENT, "1//0g-new-refresh", G_MAILBOX)
    body = exchange(google, "4/0code").json()
    assert body["refresh_token"] == "1//0g-new-refresh"
    assert google.mailbox_for(body["access_token"]) == G_MAILBOX
    assert refresh(google, refresh_token="1//0g-new-refresh").status_code == 200
    reused = exchange(google, "4/0code")
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")


def test_auth_code_exchange_without_a_refresh_token(google):
    google.auth_codes["4/0again"] = (G_CLIENT, None)
    response = exchange(google, "4/0again")
    assert response.status_code == 200 and "refresh_token" not in response.json()
    assert set(response.json()) == {"access_token", "expires_in", "scope", "token_type"}


@pytest.mark.parametrize(
    ("code", "redirect_uri", "error"),
    [
        ("4/0code", None, "invalid_request"),
        ("4/0code", "http://elsewhere", "redirect_uri_mismatch"),
        ("4/0unknown", "http://localhost", "invalid_grant"),
    ],
)
def test_auth_code_errors(google, code, redirect_uri, error):
    google.auth_codes["4/0code"] = AuthCode(G_CLIENT, "1//x", G_MAILBOX, "http://localhost")
    response = exchange(google, code, redirect_uri)
    assert (response.status_code, response.json()["error"]) == (400, error)


def test_transient_503_then_success(google):
    google.fail_next_with_status(503)
    first, second = refresh(google), refresh(google)
    assert first.status_code == 503 and first.json()["error"] == "temporarily_unavailable"
    assert second.status_code == 200
    assert google.token_requests == 2 and len(google.issued) == 1


def test_expires_in_zero_issues_tokens_that_are_already_invalid(server_context):
    with FakeGoogleToken(server_context, {G_CLIENT: G_SECRET},
                         {G_REFRESH: (G_CLIENT, G_MAILBOX)}, expires_in=0) as idp:
        body = refresh(idp).json()
        assert body["expires_in"] == 0 and not idp.is_valid(body["access_token"])


def test_concurrent_requests_are_all_counted(google):
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: refresh(google), range(24)))
    assert all(r.status_code == 200 for r in responses)
    assert google.token_requests == 24 and len(google.issued) == 24


# -- the SMTP-side validator ---------------------------------------------------------------


def test_xoauth2_validator_binds_google_tokens_to_their_mailbox(microsoft, google):
    validate = xoauth2_validator(microsoft, google)
    g_token = refresh(google).json()["access_token"]
    ms_token = acquire(msal_app(microsoft))["access_token"]
    assert validate(G_MAILBOX.upper(), g_token)
    assert not validate("someone-else@gmail.example", g_token)
    assert validate("any-mailbox@contoso.com", ms_token)
    assert not validate(G_MAILBOX, "forged-token")
    google.expire()
    assert not validate(G_MAILBOX, g_token)


# -- certificate trust and lifecycle -------------------------------------------------------


def test_a_bundle_without_the_ca_fails_with_ssl_error(google, microsoft, tmp_path, monkeypatch):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    with pytest.raises(requests.exceptions.SSLError):
        refresh(google)
    with pytest.raises(requests.exceptions.SSLError):  # msal's discovery GET, in the constructor
        msal_app(microsoft)
    assert google.token_requests == 0 and microsoft.discovery_requests == 0


def test_the_server_still_answers_after_a_rejected_handshake(google, tmp_path, monkeypatch):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with monkeypatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(other))
        with pytest.raises(requests.exceptions.SSLError):
            refresh(google)
    assert refresh(google).status_code == 200


def test_stop_is_safe_before_start_and_twice(server_context):
    idp = FakeGoogleToken(server_context)
    idp.stop()
    idp = FakeGoogleToken(server_context).start()
    url = idp.token_url
    idp.stop()
    idp.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(url, data={}, timeout=5)
