"""The migrations describe the models: one line of history, nothing left to generate."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_its_migration_and_the_history_has_one_leaf_per_app():
    out = io.StringIO()
    # Exits non-zero (SystemExit) on a missing migration, CommandError on two leaves.
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()
