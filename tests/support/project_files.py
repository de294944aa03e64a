"""The deployment files read as their tools read them: docker-compose.yml and the Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
# Compose's interpolation with a default: ${NAME:-default} (and ${NAME-default}).
INTERPOLATION = re.compile(r"\$\{(\w+):?-([^}]*)\}")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_environment(service: str = "web") -> dict[str, str]:
    """A service's environment as Compose sets it when neither the shell nor .env sets a name."""
    environment = compose()["services"][service]["environment"]
    return {name: INTERPOLATION.sub(r"\2", str(value)) for name, value in environment.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def dockerfile_env() -> dict[str, str]:
    """The image's environment (ENV NAME=value ...)."""
    env: dict[str, str] = {}
    for instruction, arguments in dockerfile_instructions():
        if instruction.upper() == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
    return env


def dockerfile_start_command() -> list[str]:
    """What the container runs: ENTRYPOINT followed by CMD (exec form only)."""
    parts = {"ENTRYPOINT": [], "CMD": []}
    for instruction, arguments in dockerfile_instructions():
        if instruction.upper() in parts:
            parts[instruction.upper()] = json.loads(arguments)
    return parts["ENTRYPOINT"] + parts["CMD"]


def dockerfile_run_steps() -> list[str]:
    """Each RUN instruction's shell commands, split at `&&`."""
    return [step.strip() for instruction, arguments in dockerfile_instructions()
            if instruction.upper() == "RUN" for step in arguments.split("&&")]
