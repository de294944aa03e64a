"""`manage.py send_bulk FILE.csv`: queues every row, reports progress, refuses bad rows clearly."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from delivery.models import Message
from tests.factories import make_integration

pytestmark = pytest.mark.django_db


def test_it_queues_every_row_and_prints_a_summary(tmp_path):
    make_integration()
    csv_file = tmp_path / "news.csv"
    rows = "".join(
        f"user{n}@example.org,Issue {n},Hello {n},<p>Hello {n}</p>\n" for n in range(2500)
    )
    csv_file.write_text("to,subject,text,html\n" + rows)
    out, err = io.StringIO(), io.StringIO()
    call_command("send_bulk", str(csv_file), stdout=out, stderr=err)
    assert Message.objects.filter(kind="marketing").count() == 2500
    assert "Queued 2500 message(s)" in out.getvalue()
    assert "2500/2500" in err.getvalue()


def test_a_bad_row_names_its_line_and_field(tmp_path):
    make_integration()
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text("to,subject,text\nok@example.org,Hi,x\nnot-an-address,Hi,x\n")
    with pytest.raises(CommandError, match=r"line 3: to: 'not-an-address'"):
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    assert not Message.objects.exists()


def test_a_bad_row_after_the_first_chunk_queues_nothing_and_every_bad_row_is_listed(tmp_path):
    # Queueing the good rows first would make a re-run of the fixed file send them twice.
    make_integration()
    csv_file = tmp_path / "late.csv"
    rows = [f"user{n}@example.org,Hi,x\n" for n in range(1500)]
    rows[1200] = "not-an-address,Hi,x\n"
    rows[1400] = "x@example.org,,\n"
    csv_file.write_text("to,subject,text\n" + "".join(rows))
    with pytest.raises(CommandError) as refused:
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    assert "2 invalid row(s), nothing was queued" in str(refused.value)
    assert "line 1202: to: 'not-an-address'" in str(refused.value)
    assert "line 1402: text:" in str(refused.value)
    assert not Message.objects.exists()


def test_many_bad_rows_are_counted_beyond_those_listed(tmp_path):
    make_integration()
    csv_file = tmp_path / "all-bad.csv"
    csv_file.write_text("to,subject,text\n" + "nobody,Hi,x\n" * 50)
    with pytest.raises(CommandError) as refused:
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    message = str(refused.value)
    assert message.count("line ") == 20
    assert "… and 30 more" in message


def test_a_missing_column_is_reported(tmp_path):
    csv_file = tmp_path / "cols.csv"
    csv_file.write_text("email,subject\nx@example.org,Hi\n")
    with pytest.raises(CommandError, match="missing column"):
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    csv_file = tmp_path / "excel.csv"
    csv_file.write_bytes("to,subject,text\nx@example.org,Grüße,Hallo\n".encode("cp1252"))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())


def test_a_large_html_column_is_queued(tmp_path):
    # The csv module refuses fields over 128 KiB by default: well under the message limit.
    make_integration()
    csv_file = tmp_path / "big.csv"
    html = "<p>" + "x" * 200_000 + "</p>"
    csv_file.write_text(f"to,subject,html\nx@example.org,Hi,{html}\n")
    call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    assert Message.objects.get().html == html


def test_a_row_with_more_fields_than_the_header_is_refused(tmp_path):
    # An unquoted comma in the subject shifted the rest of the row: it was queued with
    # subject "Hello", text " world" and its real text dropped.
    make_integration()
    csv_file = tmp_path / "shifted.csv"
    csv_file.write_text("to,subject,text\nx@example.org,Hello, world,Body\n")
    with pytest.raises(CommandError, match=r"line 2: 4 fields, the header has 3"):
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    assert not Message.objects.exists()


def test_a_bad_row_after_a_multi_line_field_names_its_own_line(tmp_path):
    make_integration()
    csv_file = tmp_path / "multiline.csv"
    csv_file.write_text(
        'to,subject,html\nok@example.org,Hi,"<p>\none\ntwo\n</p>"\nnot-an-address,Hi,x\n'
    )
    with pytest.raises(CommandError, match=r"line 6: to: 'not-an-address'"):
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())


def readme_csv() -> str:
    """The CSV example of the README, exactly as a reader would copy it."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return readme.split("```csv\n", 1)[1].split("```", 1)[0]


def test_the_readmes_csv_queues_as_the_readme_says(tmp_path):
    make_integration()
    csv_file = tmp_path / "news.csv"
    csv_file.write_text(readme_csv())
    call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    first, second = Message.objects.order_by("pk")
    assert (first.kind, first.to, first.send_at) == ("marketing", ["ada@example.org"], None)
    assert second.to == ["bob@example.org", "carol@example.org"]
    assert second.send_at.isoformat() == "2026-12-24T08:00:00+00:00"
    assert Message.objects.scheduled().count() == 1


def test_without_a_marketing_integration_the_error_names_kind_transactional(tmp_path):
    make_integration(use_for_marketing=False)
    csv_file = tmp_path / "news.csv"
    csv_file.write_text(readme_csv())
    with pytest.raises(CommandError) as refused:
        call_command("send_bulk", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    assert "--kind transactional" in str(refused.value)
    assert 'Use for marketing' in str(refused.value)
    out = io.StringIO()
    call_command("send_bulk", str(csv_file), "--kind", "transactional", stdout=out,
                 stderr=io.StringIO())
    assert Message.objects.filter(kind="transactional").count() == 2


def test_help_describes_the_columns_and_the_kind():
    from delivery.management.commands.send_bulk import Command

    text = Command.help
    assert "send_at" in text and "--kind transactional" in text and "marketing" in text
