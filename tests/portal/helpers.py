"""Helpers of the portal tests: messages, pages, query counts, staff with some permissions."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.models import Message, Status

PAGES = ["/portal/", "/portal/messages/", "/portal/test/"]


def make_message(integration, status=Status.SENT, **fields) -> Message:
    now = timezone.now()
    values = {"integration": integration, "from_email": "app@example.com",
              "to": ["bob@example.org"], "subject": "Hello", "text": "Hi", "status": status,
              "next_attempt_at": now, "deadline": now + timedelta(days=1),
              "sent_at": now if status == Status.SENT else None,
              "failed_at": now if status == Status.FAILED else None, **fields}
    return Message.objects.create(**values)


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def staff_with(django_user_model, *codenames: str):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("limited", "l@example.com", "pw",
                                                 is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user
