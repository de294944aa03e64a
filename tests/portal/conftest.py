"""Fixtures of the portal's tests: a staff member who may read, retry and test."""

from __future__ import annotations

import pytest


@pytest.fixture
def staff_user(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw",
                                                 is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=[
        "change_smtpintegration", "view_message", "retry_message",
    ]))
    return user


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client
