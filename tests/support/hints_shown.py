"""Every hint the test session showed staff, recorded so the run can check each is the catalog's.

Three sources: each `DeliveryError` made in this process (with the rule it names and where it
was made); each hint a Test integration step is given; and, after each database test, the
hints stored where staff read them (attempts, the integration's health, Test integration
runs), which also catches what worker processes wrote. tests/conftest.py installs the recorder
and fails the run when `strays` finds any.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from integrations.failures.rules import Rule

ROOT = Path(__file__).resolve().parent.parent.parent
# Frames that only pass an error along: where it was made is the first frame outside them.
PASSING_FRAMES = ("integrations/failures/", "tests/support/hints_shown.py", "<string>",
                  "/dataclasses.py")


@dataclass(frozen=True)
class Shown:
    """One hint as staff would see it."""

    hint: str
    # The rule the error names; None for a hint read back from a stored row.
    rule: str | None
    # Where the error was made (path:line), or which stored field held the hint.
    where: str


class HintRecorder:
    def __init__(self) -> None:
        self.shown: set[Shown] = set()
        self.errors_made = 0

    def install(self) -> None:
        """Record every DeliveryError as it is made, and every hint a diagnostics step gets."""
        from integrations.diagnostics import Step
        from integrations.failures.errors import DeliveryError

        made = DeliveryError.__post_init__
        recorder = self

        def recording(error: DeliveryError) -> None:
            made(error)
            recorder.errors_made += 1
            recorder.shown.add(Shown(error.hint, error.rule, _maker()))

        def setting(step: Step, name: str, value: object) -> None:
            object.__setattr__(step, name, value)
            if name == "hint" and value:
                recorder.shown.add(Shown(str(value), None, f"Step.hint set at {_maker()}"))

        DeliveryError.__post_init__ = recording
        Step.__setattr__ = setting

    def read_stored_hints(self) -> None:
        """The hints the test's database holds where the admin, the portal and the command
        show them. Called before the test's database is rolled back or flushed."""
        from django.db import DatabaseError

        try:
            stored = _stored_hints()
        except (DatabaseError, RuntimeError):
            return  # a test that left its transaction broken, or had no database after all
        self.shown.update(stored)


def _stored_hints() -> set[Shown]:
    from delivery.models import SendAttempt
    from integrations.models import IntegrationTest, SmtpIntegration

    attempts = SendAttempt.objects.exclude(hint="").order_by().values_list("hint", flat=True)
    health = (SmtpIntegration.objects.exclude(needs_attention_hint="").order_by()
              .values_list("needs_attention_hint", flat=True))
    shown = {Shown(hint, None, "SendAttempt.hint") for hint in attempts.distinct()}
    shown |= {Shown(hint, None, "SmtpIntegration.needs_attention_hint")
              for hint in health.distinct()}
    for steps in IntegrationTest.objects.order_by().values_list("steps", flat=True):
        shown |= {Shown(step["hint"], None, "IntegrationTest.steps")
                  for step in steps if step.get("hint")}
    return shown


def _maker() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if not any(part in path for part in PASSING_FRAMES):
            try:
                path = str(Path(path).relative_to(ROOT))
            except ValueError:
                pass
            return f"{path}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def strays(shown: Iterable[Shown], rules: Iterable[Rule]) -> list[str]:
    """Each hint that is not the catalog's, and each error made without a catalog rule."""
    by_id = {rule.id: rule for rule in rules}
    hints = {rule.hint for rule in by_id.values()}
    problems = []
    for item in sorted(shown, key=lambda s: (s.where, s.rule or "", s.hint)):
        if item.rule is None:
            if item.hint and item.hint not in hints:
                problems.append(f"{item.where}: a hint no catalog rule gives: {item.hint!r}")
        elif item.rule not in by_id:
            problems.append(f"{item.where}: an error made without a catalog rule "
                            f"(rule={item.rule!r}, hint={item.hint!r})")
        elif item.hint != by_id[item.rule].hint:
            problems.append(f"{item.where}: an error of rule {item.rule!r} with another hint: "
                            f"{item.hint!r}")
    return problems


def exercised(shown: Iterable[Shown], rules: Iterable[Rule]) -> set[str]:
    """The rules the session showed: those errors named, and those whose hint was stored
    (when no other rule gives the same hint)."""
    by_hint: dict[str, list[str]] = {}
    for rule in rules:
        by_hint.setdefault(rule.hint, []).append(rule.id)
    known = {rule_id for ids in by_hint.values() for rule_id in ids}
    found = set()
    for item in shown:
        if item.rule is not None:
            found.add(item.rule)
        elif len(by_hint.get(item.hint, ())) == 1:
            found.add(by_hint[item.hint][0])
    return found & known
