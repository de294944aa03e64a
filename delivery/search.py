"""Finding a message by what staff remember of it: its Message-ID, or text in To, Subject or From.

The portal's log and the admin's message list search the same way. On PostgreSQL the text
search reads trigram indexes that hold settled mail only (migration 0035): a message's row is
written three times on its way out (queued, claimed, sent), and an index of every row paid
for its search text each time, in the path every send takes. Unsettled mail (queued or in
flight) is found through the status index instead and its text checked row by row: it is the
queue, small next to the history.
"""

from __future__ import annotations

import json
import re
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from .choices import Status
from .models import Message

# The Message-ID delivery.mime gives every message: <notifuse-smtp.{pk}.{created}@{domain}>.
OWN_MESSAGE_ID = re.compile(r"notifuse-smtp\.(?P<pk>\d+)\.\d+@[^\s<>]+")
# Not yet settled: the search indexes leave these rows out (their predicate is the negation).
UNSETTLED = (Status.QUEUED, Status.SENDING)


def search(messages: QuerySet[Message], term: str) -> QuerySet[Message]:
    """A Message-ID finds its message; other text is looked for in To, Subject and From."""
    own_id = OWN_MESSAGE_ID.fullmatch(term.strip("<>"))
    if own_id:
        return messages.filter(pk=int(own_id["pk"]))
    if term.startswith("<") and term.endswith(">") and "@" in term:
        # Cast: text on both databases (SQLite would read the term as JSON), and still the
        # expression of the PostgreSQL index.
        given_id = Cast(KeyTextTransform("Message-ID", "headers"), TextField())
        return messages.annotate(message_id=given_id).filter(message_id=term)
    return messages.annotate(to_text=Cast("to", TextField())).filter(text_condition(term))


def text_condition(term: str) -> Q:
    """The term in To, Subject or From, as one condition per indexed expression.

    Each settled arm repeats the settled condition rather than sharing it: PostgreSQL lifts a
    condition common to every arm of an OR out of it, and a trigram arm that no longer says
    "settled" cannot use an index that holds settled rows only. The unsettled arm keeps its
    own status condition, which the status index serves.
    """
    # `to` is a JSON list: its text form holds every address, quoted. SQLite keeps
    # non-ASCII characters there as \\u escapes, so that form of the term is tried too.
    escaped = json.dumps(term)[1:-1]
    in_text = [Q(to_text__icontains=term), Q(subject__icontains=term),
               Q(from_email__icontains=term)]
    if escaped != term:
        in_text.append(Q(to_text__icontains=escaped))
    settled = ~Q(status__in=UNSETTLED)
    unsettled = Q(status__in=UNSETTLED) & reduce(or_, in_text)
    return reduce(or_, (settled & condition for condition in in_text)) | unsettled
