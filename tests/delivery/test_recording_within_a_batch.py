"""What the server took is saved during a batch, not only at its end.

A worker killed mid-batch sends again whatever was taken but not yet recorded as sent, so
the shorter that window, the fewer messages go out twice.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from delivery import engine
from delivery.api import send_email
from delivery.models import Message, SendAttempt, Status
from tests.conftest import wait_until
from tests.factories import make_integration
from tests.support.smtp_servers import SmtpTestServer

pytestmark = pytest.mark.django_db(transaction=True)


def drain_in_background(integration) -> threading.Thread:
    def run() -> None:
        try:
            engine.drain(integration.pk)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run, name="drain")
    thread.start()
    return thread


@pytest.mark.parametrize("pipelining", [False, True], ids=["one-by-one", "pipelined"])
def test_messages_the_server_took_are_recorded_while_the_batch_is_still_sending(
    settings, pipelining
):
    settings.DELIVERY_RECORD_SECONDS = 0  # save after every message
    with SmtpTestServer(hold_data_from=4, pipelining=pipelining) as server:
        integration = make_integration(server)
        queued = [send_email(to=[f"user{n}@example.org"], subject=f"n{n}", text="hi",
                             integration=integration) for n in range(6)]
        drain = drain_in_background(integration)
        try:
            assert server.wait_until(lambda: server.held == 1), "the 4th message never arrived"
            # The worker is stuck on the 4th message: were it killed now, only that one
            # (and the two after it) would be tried again.
            sent = Message.objects.filter(status=Status.SENT)
            assert sorted(sent.values_list("pk", flat=True)) == [m.pk for m in queued[:3]]
            assert SendAttempt.objects.filter(succeeded=True).count() == 3
            assert drain.is_alive()
        finally:
            server.release_held()
            drain.join(30)
        assert not drain.is_alive()
        wait_until(lambda: Message.objects.filter(status=Status.SENT).count() == 6, timeout=10)
        assert len(server.messages) == 6
        assert SendAttempt.objects.count() == 6
