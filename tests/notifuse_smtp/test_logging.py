"""LOG_FORMAT=json: one JSON object per attempt line, with the structured fields."""

from __future__ import annotations

import base64
import json
import logging

from notifuse_smtp.logs import JsonFormatter, RedactingFilter


def test_json_lines_carry_the_attempt_fields():
    record = logging.makeLogRecord({
        "name": "delivery.attempts", "levelname": "INFO", "msg": "attempt %s",
        "args": ("message_id=1",), "message_id": 1, "stage": "auth", "code": 535,
    })
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "attempt message_id=1"
    assert (line["message_id"], line["stage"], line["code"]) == (1, "auth", 535)


def test_bearer_tokens_are_removed_from_any_record():
    record = logging.makeLogRecord({"msg": "sent AUTH %s", "args": ("auth=Bearer ya29.secret",)})
    RedactingFilter().filter(record)
    assert "ya29.secret" not in record.getMessage()


def test_a_base64_xoauth2_string_is_removed_from_any_record():
    xoauth2 = base64.b64encode(b"user=a@example.com\x01auth=Bearer ya29.secret\x01\x01").decode()
    record = logging.makeLogRecord({"msg": "server said: 501 5.5.2 %s", "args": (xoauth2,)})
    RedactingFilter().filter(record)
    assert xoauth2 not in record.getMessage()
    assert record.getMessage().startswith("server said: 501 5.5.2")


def test_a_token_in_a_traceback_is_removed_in_text_and_json():
    try:
        raise RuntimeError("server refused auth=Bearer ya29.in-the-traceback")
    except RuntimeError as exc:
        record = logging.makeLogRecord({"msg": "it failed", "exc_info": (type(exc), exc, None)})
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "RuntimeError" in text and "ya29.in-the-traceback" not in text
    assert "ya29.in-the-traceback" not in JsonFormatter().format(record)
