"""The code keeps its shape: one owner for a message's state, short functions, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("delivery", "integrations", "senders", "notifuse_smtp")
LIFECYCLE = ROOT / "delivery" / "lifecycle"
# What only delivery/lifecycle may write.
STATE_FIELDS = frozenset({
    "status", "next_attempt_at", "deadline", "lease_expires_at", "claim_token",
    "attempt_count", "attempts_before_retry", "failed_at",
})
# Calls that take these names as keywords only to read (filters and lookups).
READS = frozenset({"filter", "exclude", "get", "Q", "first", "exists", "count", "values",
                   "values_list", "only", "defer", "order_by",
                   # Sending a signal hands values to receivers: `message_bounced` carries the
                   # bounce's enhanced code as `status`, which writes nothing.
                   "send_after_commit"})
# Modules whose "status" is not a message's: RFC 9457 problem details have a `status` member.
NOT_MESSAGE_STATE = {"delivery/http_api/problems.py"}
MAX_FUNCTION_LINES = 50
MAX_MODULE_LINES = 400


def app_modules() -> list[Path]:
    return sorted(path for app in APPS for path in (ROOT / app).rglob("*.py")
                  if "migrations" not in path.parts)


def state_writes(source: str) -> list[str]:
    """Every place in `source` that assigns a message's state field, as "line: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [f"{node.lineno}: .{t.attr} =" for t in targets
                      if isinstance(t, ast.Attribute) and t.attr in STATE_FIELDS]
        elif isinstance(node, ast.Call) and _called_name(node) not in READS:
            found += [f"{node.lineno}: {_called_name(node)}({k.arg}=…)" for k in node.keywords
                      if k.arg in STATE_FIELDS]
        elif isinstance(node, ast.Dict) and not _predicates_only(node):
            found += [f"{node.lineno}: {{{k.value!r}: …}}" for k in node.keys
                      if isinstance(k, ast.Constant) and k.value in STATE_FIELDS]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "UPDATE" in node.value and any(f in node.value for f in STATE_FIELDS):
                found.append(f"{node.lineno}: SQL {node.value[:40]!r}")
    return found


def _predicates_only(mapping: ast.Dict) -> bool:
    """{"next_attempt_at": lambda m: …}: when a page shows a field, not a change to it."""
    return all(isinstance(value, ast.Lambda) for value in mapping.values)


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_the_detector_finds_each_way_of_writing_state():
    source = (
        "m.status = 'sent'\n"
        "Message.objects.filter(pk=1).update(next_attempt_at=now)\n"
        "changes = {'lease_expires_at': None}\n"
        "SQL = 'UPDATE delivery_message SET attempt_count = 1'\n"
        "Message.objects.filter(status='queued').first()\n"  # a read: not reported
        "SHOWN = {'next_attempt_at': lambda m: m.queued}\n"  # when a page shows it: neither
    )
    assert [line.split(":")[0] for line in state_writes(source)] == ["1", "2", "3", "4"]


def test_only_the_lifecycle_package_writes_a_messages_state():
    # The other apps cannot reach a message at all: the import contracts (.importlinter)
    # forbid them to import delivery. Within delivery, only the lifecycle package writes.
    writers = {
        str(path.relative_to(ROOT)): writes
        for path in app_modules()
        if path.parts[len(ROOT.parts)] == "delivery" and LIFECYCLE not in path.parents
        and str(path.relative_to(ROOT)) not in NOT_MESSAGE_STATE
        and (writes := state_writes(path.read_text()))
    }
    assert writers == {}, f"state written outside delivery/lifecycle: {writers}"
    assert any(state_writes(path.read_text()) for path in LIFECYCLE.glob("*.py"))


@pytest.mark.parametrize("path", app_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_and_modules_stay_small(path: Path):
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path.name} is over {MAX_MODULE_LINES} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []
