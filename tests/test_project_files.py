"""The files a new user starts from: compose file, .env.example, scripts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.project_files import ROOT, compose, dockerfile_env, dockerfile_run_steps


def test_compose_has_every_service_the_design_names():
    services = compose()["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "mailpit"} <= set(services)
    assert "gunicorn notifuse_smtp.wsgi" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A notifuse_smtp worker")
    assert services["beat"]["command"].startswith("celery -A notifuse_smtp beat")


def test_web_worker_and_beat_share_one_environment():
    services = compose()["services"]
    environments = [services[name]["environment"] for name in ("web", "worker", "beat")]
    assert environments[0] == environments[1] == environments[2]
    assert {"DATABASE_URL", "REDIS_URL", "FERNET_KEYS", "SECRET_KEY"} <= set(environments[0])


def test_every_setting_the_project_reads_is_documented_in_env_example():
    settings_source = (ROOT / "notifuse_smtp" / "settings.py").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z_0-9]+)"', settings_source))
    compose_names = set(compose()["services"]["web"]["environment"])
    # A commented-out line documents a default derived from another setting.
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^(?:# )?([A-Z_0-9]+)=", example, re.MULTILINE))
    assert read and read | compose_names <= documented, (read | compose_names) - documented


def test_the_scripts_parse():
    for script in ("scripts/run", "scripts/test", "scripts/lib.sh", ".ci/run"):
        subprocess.run(["bash", "-n", str(ROOT / script)], check=True)


def test_the_image_collects_static_files_in_production_mode_with_their_manifest(tmp_path):
    """Collected with DEBUG on, the files came without the manifest that production's storage
    needs: every admin page answered 500."""
    (step,) = [step for step in dockerfile_run_steps() if "collectstatic" in step]
    venv = str(Path(sys.executable).parent)
    env = {**os.environ, **dockerfile_env(), "STATIC_ROOT": str(tmp_path),
           "PATH": venv + os.pathsep + os.environ["PATH"]}
    subprocess.run(["sh", "-c", step], cwd=ROOT, env=env, check=True, capture_output=True)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    assert "admin/css/base.css" in manifest["paths"]
