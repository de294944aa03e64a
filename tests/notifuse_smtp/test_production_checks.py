"""Start-up refuses unsafe secrets in production; keys can be made and rotated; `check --deploy`
is clean."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core import signing

from notifuse_smtp.checks import production_secret_errors
from notifuse_smtp.settings import DEV_FERNET_KEY, DEV_SECRET_KEY
from tests.conftest import ROOT

STRONG = {
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-key-0123456789",
    "FERNET_KEYS": "a-long-random-production-fernet-key-0123456789",
    "ALLOWED_HOSTS": "mail.example.com",
}


def manage(*args: str, **overrides: str) -> subprocess.CompletedProcess:
    """Run manage.py as production runs it: DEBUG unset, strong keys unless overridden."""
    env = {**os.environ, **STRONG, **overrides}
    for name in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"):
        env.pop(name, None)  # SQLite default; the async flag is the browser tests' own
    env.update({name: value for name, value in overrides.items() if name == "DEBUG"})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def check(*args: str, **overrides: str) -> subprocess.CompletedProcess:
    return manage("check", *args, **overrides)


def test_development_secret_key_or_fernet_keys_stop_start_up_in_production():
    result = check(SECRET_KEY=DEV_SECRET_KEY, FERNET_KEYS=DEV_FERNET_KEY)
    assert result.returncode != 0
    assert "notifuse_smtp.E001" in result.stderr and "notifuse_smtp.E002" in result.stderr


def test_a_command_that_runs_no_system_checks_is_refused_too():
    result = manage("shell", "-c", "print('ran')", SECRET_KEY=DEV_SECRET_KEY)
    assert result.returncode != 0 and "ran" not in result.stdout
    assert "refuses to run shell" in result.stderr and "SECRET_KEY is missing" in result.stderr


def test_development_mode_still_runs_with_the_development_keys():
    result = manage("shell", "-c", "print('ran')", DEBUG="true", SECRET_KEY=DEV_SECRET_KEY,
                    FERNET_KEYS=DEV_FERNET_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "ran"


def test_generate_keys_runs_without_keys_and_prints_keys_production_accepts():
    made = manage("generate_keys", SECRET_KEY="", FERNET_KEYS="")
    assert made.returncode == 0, made.stderr
    keys = dict(line.split("=", 1) for line in made.stdout.split())
    assert set(keys) == {"SECRET_KEY", "FERNET_KEYS"}
    result = check("--deploy", **keys)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("keys", "refused"), [
    ({"FERNET_KEYS": [STRONG["FERNET_KEYS"], DEV_FERNET_KEY]}, ["notifuse_smtp.E002"]),
    ({"FERNET_KEYS": ["change-me-please-to-something-long-and-random"]}, ["notifuse_smtp.E002"]),
    ({"SECRET_KEY": "short-but-typed-by-hand"}, ["notifuse_smtp.E001"]),
    ({"SECRET_KEY_FALLBACKS": [DEV_SECRET_KEY]}, ["notifuse_smtp.E003"]),
    ({"SECRET_KEY_FALLBACKS": ["an-old-long-random-production-secret-key-0123"]}, []),
])
def test_each_unsafe_variable_is_named_on_its_own(settings, keys, refused):
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG["SECRET_KEY"]
    settings.FERNET_KEYS = [STRONG["FERNET_KEYS"]]
    settings.SECRET_KEY_FALLBACKS = []
    for name, value in keys.items():
        setattr(settings, name, value)
    assert [error.id for error in production_secret_errors()] == refused


def test_links_signed_before_a_secret_key_rotation_still_verify_with_the_old_key_as_fallback(
        settings):
    old_key = STRONG["SECRET_KEY"]
    new_key = "n" * 20 + "-the-new-long-random-production-secret-key-0123"
    token = signing.dumps("link", key=old_key, salt="t")
    read = f"from django.core import signing; print(signing.loads({token!r}, salt='t'))"
    rotated = manage("shell", "-c", read, SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=old_key)
    assert rotated.returncode == 0 and rotated.stdout.split()[-1] == "link", rotated.stderr
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = new_key, []  # the fallback removed
    with pytest.raises(signing.BadSignature):
        signing.loads(token, salt="t")


def test_deploy_check_warns_only_about_the_operators_preload_choice():
    result = check("--deploy")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("?: (")]
    assert [w.split(")")[0] for w in warnings] == ["?: (security.W021"]


def test_a_malformed_implicit_tls_port_list_names_the_variable():
    result = check(SMTP_IMPLICIT_TLS_PORTS="465,smtps")
    assert result.returncode != 0
    assert "SMTP_IMPLICIT_TLS_PORTS must be port numbers" in result.stderr
