"""Gunicorn, a worker, beat and manage.py refuse to start with DEBUG unset and unsafe keys.

The processes are the real ones, started as the deployment files start them: the Dockerfile's
command with the image's environment, and docker-compose.yml's worker and beat commands.
Each refuses before it binds, connects or schedules anything, so these tests are quick.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from notifuse_smtp.checks import PLACEHOLDER_KEYS
from notifuse_smtp.settings import DEV_FERNET_KEY, DEV_SECRET_KEY
from tests.conftest import wait_until
from tests.support.ports import unused_port
from tests.support.project_files import (
    ROOT,
    compose,
    compose_environment,
    dockerfile_env,
    dockerfile_start_command,
)

STRONG_SECRET_KEY = "k" * 20 + "-a-long-random-production-secret-key-0123456789"
STRONG_FERNET_KEY = "a-long-random-production-fernet-key-0123456789"
VENV_BIN = str(Path(sys.executable).parent)


def production_env(**keys: str) -> dict[str, str]:
    """This machine's environment with DEBUG unset and the given keys (empty: missing)."""
    if (ROOT / ".env").exists():
        pytest.skip(".env would set what these tests leave unset")
    env = {name: value for name, value in os.environ.items()
           if name not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "SECRET_KEY_FALLBACKS")}
    return {**env, "PATH": VENV_BIN + os.pathsep + env.get("PATH", ""), **keys}


def start_commands(tmp_path: Path, port: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    """What each deployed process runs, with the environment the deployment gives it."""
    services = compose()["services"]
    beat = shlex.split(services["beat"]["command"])
    beat[beat.index("--schedule") + 1] = str(tmp_path / "beat-schedule")
    return {
        "web (Dockerfile)": (dockerfile_start_command(), {**dockerfile_env(), "PORT": str(port)}),
        "worker": (shlex.split(services["worker"]["command"]), {}),
        "beat": (beat, {}),
        "manage.py migrate": ([sys.executable, "manage.py", "migrate", "--no-input"], {}),
    }


def start_all(tmp_path: Path, keys: dict[str, str]) -> dict[str, subprocess.CompletedProcess]:
    """Start every process at once (they are independent) and wait for each to exit."""
    port = unused_port()
    running = {
        name: subprocess.Popen(command, cwd=ROOT, env={**production_env(**keys), **extra},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
        for name, (command, extra) in start_commands(tmp_path, port).items()
    }
    finished = {}
    for name, process in running.items():
        try:
            output, _ = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            output, _ = process.communicate()
        finished[name] = subprocess.CompletedProcess(process.args, process.returncode, output)
    return finished


compose_keys = {name: compose_environment()[name] for name in ("SECRET_KEY", "FERNET_KEYS")}
UNSAFE_KEYS = {
    "development": {"SECRET_KEY": DEV_SECRET_KEY, "FERNET_KEYS": DEV_FERNET_KEY},
    "docker-compose placeholders": compose_keys,
    "missing": {"SECRET_KEY": "", "FERNET_KEYS": ""},
}


def test_the_compose_file_still_holds_placeholders_that_are_refused():
    assert set(compose_keys.values()) <= PLACEHOLDER_KEYS
    assert "DEBUG" not in dockerfile_env() or dockerfile_env()["DEBUG"] == "false"


@pytest.mark.parametrize("case", UNSAFE_KEYS)
def test_every_process_refuses_to_start_naming_the_variable(case, tmp_path):
    for name, result in start_all(tmp_path, UNSAFE_KEYS[case]).items():
        assert result.returncode not in (0, None), (name, result.stdout[-2000:])
        refusal = next((line for line in result.stdout.splitlines()
                        if "DEBUG is off and" in line and "(notifuse_smtp.E" in line), "")
        assert named_variables(refusal) == {"SECRET_KEY", "FERNET_KEYS"}, (
            name, result.stdout[-2000:])


def named_variables(refusal: str) -> set[str]:
    variables = ("SECRET_KEY", "FERNET_KEYS", "SECRET_KEY_FALLBACKS")
    return {name for name in variables if re.search(rf"\b{name} (is missing|holds)", refusal)}


def test_the_dockerfile_command_serves_once_the_keys_are_real(tmp_path):
    port = unused_port()
    env = {**production_env(SECRET_KEY=STRONG_SECRET_KEY, FERNET_KEYS=STRONG_FERNET_KEY),
           **dockerfile_env(), "PORT": str(port)}
    process = subprocess.Popen(dockerfile_start_command(), cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        status, body = wait_until(lambda: _answer(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        # Served; 503 only when a service it probes is down here.
        assert (status, body) in ((200, {"status": "ok"}), (503, {"status": "fail"}))
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def _answer(url: str) -> tuple[int, dict] | None:
    try:
        # The first request waits for a worker to load the application: slow on a busy machine.
        response = requests.get(url, timeout=30)
    except requests.ConnectionError:
        return None
    return response.status_code, response.json()
