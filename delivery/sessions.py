"""SMTP sessions kept open between batches, per worker process, and per-integration caps.

A worker process keeps one authenticated session per integration (and XOAUTH2 mailbox) after a
drain ends, so the next batch skips connect, TLS, EHLO and AUTH. A session is checked with NOOP
after a short idle time, closed after a longer one or after a number of messages, and never
reused once the integration was edited. Integrations with a connection cap (Microsoft 365
allows 3 per mailbox) hold a slot in Redis while they send and keep nothing open idle.
"""

from __future__ import annotations

import smtplib
import time
import uuid

from django.conf import settings

from integrations.models import SmtpIntegration
from notifuse_smtp.redis_connection import redis_client
from integrations.smtp_client import SmtpSession

NOOP_AFTER_IDLE_SECONDS = 10.0

_pool: dict[tuple, SmtpSession] = {}


def _key(integration: SmtpIntegration, mailbox: str) -> tuple:
    return (integration.pk, mailbox, integration.updated_at)


def take(integration: SmtpIntegration, mailbox: str) -> SmtpSession | None:
    """An open session for this integration and mailbox, if a healthy one is pooled."""
    session = _pool.pop(_key(integration, mailbox), None)
    if session is None:
        return None
    idle = time.monotonic() - session.last_used
    if idle > settings.SMTP_MAX_IDLE_SECONDS:
        session.close()
        return None
    if idle > NOOP_AFTER_IDLE_SECONDS and not _answers_noop(session):
        session.close()
        return None
    return session


def give_back(session: SmtpSession, integration: SmtpIntegration) -> None:
    """Keep a healthy session for the next batch, or close it."""
    reusable = (
        session.smtp is not None
        and not integration.max_connections
        and session.messages_sent < settings.SMTP_MAX_MESSAGES_PER_SESSION
    )
    if not reusable:
        session.close()
        return
    session.last_used = time.monotonic()
    previous = _pool.pop(_key(integration, session.mailbox), None)
    if previous is not None and previous is not session:
        previous.close()
    _pool[_key(integration, session.mailbox)] = session


def close_all() -> None:
    while _pool:
        _pool.popitem()[1].close()


def _answers_noop(session: SmtpSession) -> bool:
    try:
        code, _ = session.smtp.noop()
    except (smtplib.SMTPException, OSError):
        return False
    return code == 250


class ConnectionSlot:
    """One of an integration's `max_connections` slots, shared by all workers via Redis."""

    def __init__(self, integration: SmtpIntegration) -> None:
        self.limit = integration.max_connections
        self.key = f"notifuse:slots:{integration.pk}"
        self.member = uuid.uuid4().hex
        self.held = False

    def acquire(self) -> bool:
        if not self.limit:
            return True
        client, now = redis_client(), time.time()
        lease = now + settings.DELIVERY_LEASE_SECONDS
        with client.pipeline() as pipe:
            pipe.zremrangebyscore(self.key, "-inf", now)
            pipe.zadd(self.key, {self.member: lease})
            pipe.zrank(self.key, self.member)
            _, _, rank = pipe.execute()
        self.held = rank is not None and rank < self.limit
        if not self.held:
            client.zrem(self.key, self.member)
        return self.held

    def release(self) -> None:
        if self.held:
            redis_client().zrem(self.key, self.member)
            self.held = False
