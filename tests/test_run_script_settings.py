"""./scripts/run's settings: tracked links point at the port the server listens on."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess

import pytest

from delivery.api import send_email
from delivery.mime import render
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db


def run_script_setting(name: str, **environment: str) -> str:
    """The value ./scripts/run gives `name` (its dev_settings, as the script calls it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKING_BASE_URL", "PORT")}
    command = f'source scripts/lib.sh && dev_settings && printf %s "${name}"'
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env={**env, **environment},
                          capture_output=True, text=True, check=True).stdout


def test_with_port_8765_tracked_links_point_at_port_8765(settings):
    from tests.factories import make_integration

    settings.TRACKING_BASE_URL = run_script_setting("TRACKING_BASE_URL", PORT="8765")
    assert settings.TRACKING_BASE_URL == "http://127.0.0.1:8765"
    make_integration()
    message = send_email(to="a@example.org", subject="News", kind="marketing",
                         html='<a href="https://example.com/offer">offer</a>')
    parsed = email.message_from_bytes(render(message), policy=email.policy.default)
    html = parsed.get_body(("html",)).get_content()
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all(link.startswith("http://127.0.0.1:8765/t/c/") for link in links)


def test_a_tracking_base_url_that_is_set_is_kept():
    assert run_script_setting("TRACKING_BASE_URL", PORT="8765",
                              TRACKING_BASE_URL="https://mail.example.com") == (
        "https://mail.example.com")
