"""Who may say a request came over HTTPS: the proxy gunicorn is told about, not any client.

The image's command runs for real (gunicorn, production settings); the test client is the
peer. A request believed to be HTTP is redirected to HTTPS (301); one believed to be HTTPS
gets the page (here a 404: no database needed).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tests.conftest import wait_until
from tests.notifuse_smtp.test_start_up_refusal import (
    STRONG_FERNET_KEY,
    STRONG_SECRET_KEY,
    production_env,
)
from tests.support.ports import unused_port
from tests.support.project_files import ROOT, dockerfile_env, dockerfile_start_command

CLAIMS_HTTPS = {"X-Forwarded-Proto": "https"}


@contextmanager
def images_serving(*environments: dict[str, str]) -> Iterator[list[str]]:
    """The Dockerfile's command, once per environment (the image's, with overrides), started
    together; their base URLs once each answers."""
    command = dockerfile_start_command()
    command[command.index("--workers") + 1] = "1"  # three would only slow the test down
    started = []
    try:
        for overrides in environments:
            port = unused_port()
            env = {**production_env(SECRET_KEY=STRONG_SECRET_KEY, FERNET_KEYS=STRONG_FERNET_KEY),
                   **dockerfile_env(), "PORT": str(port), **overrides}
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            started.append((process, f"http://127.0.0.1:{port}"))
        for _, url in started:
            health = url + "/healthz"
            wait_until(lambda h=health: _status(h, {}), timeout=60,
                       message="gunicorn did not answer")
        yield [url for _, url in started]
    finally:
        for process, _ in started:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


def _status(url: str, headers: dict[str, str]) -> int | None:
    try:
        return requests.get(url, headers=headers, allow_redirects=False, timeout=30).status_code
    except requests.ConnectionError:
        return None


def test_the_header_counts_only_from_the_proxy_gunicorn_is_told_about():
    not_us = {"FORWARDED_ALLOW_IPS": "192.0.2.1"}
    with images_serving({}, not_us, {**not_us, "TRUST_X_FORWARDED_PROTO": "true"}) as urls:
        image, elsewhere, trusted = urls
        # The image believes a proxy on its own host (127.0.0.1, the test here) ...
        assert _status(image + "/nowhere", CLAIMS_HTTPS) == 404
        assert _status(image + "/nowhere", {}) == 301
        # ... and nobody else: a client that reaches the port directly is still on HTTP.
        assert _status(elsewhere + "/nowhere", CLAIMS_HTTPS) == 301
        # Unless the operator says every request comes through a proxy that sets the header.
        assert _status(trusted + "/nowhere", CLAIMS_HTTPS) == 404
