"""Django's JSONField, reading an empty list or object without the JSON parser.

Most of a message's ten JSON columns are empty (no Cc, no attachments, nothing refused yet),
and a worker reads all ten of every message it claims: `json.loads("[]")` for each was about
a fifth of a claim's Python. Anything else is read by Django's own code.
"""

from __future__ import annotations

from django.db import models


class JSONField(models.JSONField):
    def from_db_value(self, value, expression, connection):
        # A fresh object each time: callers may change what they read.
        if value == "[]":
            return []
        if value == "{}" and self.decoder is None:  # a decoder's object_hook sees {} too
            return {}
        return super().from_db_value(value, expression, connection)
