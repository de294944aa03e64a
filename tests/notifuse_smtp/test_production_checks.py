"""Start-up refuses development secrets in production; `check --deploy` is clean."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

STRONG = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-key-0123456789",
    "FERNET_KEYS": "a-long-random-production-fernet-key-0123456789",
    "ALLOWED_HOSTS": "mail.example.com",
}


def check(*args: str, **overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **STRONG, **overrides}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests only
    return subprocess.run([sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_development_secret_key_or_fernet_keys_stop_start_up_in_production():
    result = check(SECRET_KEY="dev-insecure-secret-key-change-me",
                   FERNET_KEYS="dev-insecure-fernet-key-change-me")
    assert result.returncode != 0
    assert "notifuse_smtp.E001" in result.stderr and "notifuse_smtp.E002" in result.stderr


def test_deploy_check_warns_only_about_the_operators_preload_choice():
    result = check("--deploy")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("?: (")]
    assert [w.split(")")[0] for w in warnings] == ["?: (security.W021"]


def test_a_malformed_implicit_tls_port_list_names_the_variable():
    result = check(SMTP_IMPLICIT_TLS_PORTS="465,smtps")
    assert result.returncode != 0
    assert "SMTP_IMPLICIT_TLS_PORTS must be port numbers" in result.stderr
