"""The message page: addresses, bodies, source, attachments, attempts and a confirmed retry."""

from __future__ import annotations

import base64
import email
from email import policy

import pytest
from django.utils import timezone

from delivery.models import SendAttempt, Status
from integrations.failures.catalog import rule
from tests.factories import make_integration
from tests.portal.helpers import make_message, page_of

pytestmark = pytest.mark.django_db


# -- message page ----------------------------------------------------------------------------

def test_the_message_page_renders_html_safely_and_shows_attempts(staff):
    integration = make_integration()
    message = make_message(integration, status=Status.FAILED,
                           html='<p>Hi</p><script>alert("x")</script>',
                           text="Plain <b>text</b>")
    SendAttempt.objects.create(message=message, integration=integration, number=1,
                               started_at=timezone.now(), stage="rcpt", smtp_code=550,
                               enhanced_code="5.1.1", error="No such user",
                               hint=rule("smtp.5.1.1").hint, failure_class="permanent")
    html = page_of(staff, f"/portal/messages/{message.pk}/")
    assert "<script>" not in html and "<b>text</b>" not in html
    assert ('<iframe class="body" sandbox srcdoc="&lt;meta http-equiv=&quot;'
            "Content-Security-Policy&quot; content=&quot;default-src &#x27;none&#x27;; "
            "img-src data: cid:; style-src &#x27;unsafe-inline&#x27;; font-src data:&quot;&gt;"
            "&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\"") in html
    assert '<pre class="body" id="text-body">Plain &lt;b&gt;text&lt;/b&gt;</pre>' in html
    assert "550 5.1.1" in html and "No such user" in html
    assert "refuses mail: check the address" in html
    assert "permanent" in html and "RCPT TO" in html
    assert 'id="retry"' in html


def test_the_message_page_shows_headers_and_attachments(staff):
    payload = b"x" * 2048
    message = make_message(
        make_integration(), cc=["cc@example.org"], bcc=["bcc@example.org"],
        reply_to=["reply@example.org"], headers={"X-Campaign": "spring", "items": "odd"},
        attachments=[{"filename": "invoice.pdf", "mimetype": "application/pdf",
                      "content_b64": base64.b64encode(payload).decode()}],
    )
    html = page_of(staff, f"/portal/messages/{message.pk}/")
    for text in ("cc@example.org", "bcc@example.org", "reply@example.org", "X-Campaign",
                 "spring", "<th>items</th><td>odd</td>", "invoice.pdf", "2.0\xa0KB"):
        assert text in html, text
    assert 'id="retry"' not in html  # only failed messages offer a retry


def test_the_message_page_shows_the_source_as_sent_and_links_the_integration(staff):
    integration = make_integration(name="Company SMTP")
    message = make_message(integration, to=["Ada <ada@example.org>"], subject="Invoice",
                           headers={"X-Campaign": "spring"}, html="<p>Hi</p>",
                           attachments=[{"filename": "invoice.pdf", "mimetype": "application/pdf",
                                         "content_b64": base64.b64encode(b"%PDF-1").decode()}])
    html = page_of(staff, f"/portal/messages/{message.pk}/")
    assert '<td id="to">Ada &lt;ada@example.org&gt;</td>' in html  # not a JSON list
    assert (f'<a id="integration" href="/admin/integrations/smtpintegration/{integration.pk}'
            '/change/">Company SMTP</a>') in html
    assert "X-Campaign: spring" in html and "Content-Type: multipart/mixed" in html
    for internal in ("claim", "lease", "Lease"):
        assert internal not in html, internal
    response = staff.get(f"/portal/messages/{message.pk}/source.eml")
    assert response["Content-Type"] == "message/rfc822"
    parsed = email.message_from_bytes(response.content, policy=policy.default)
    assert parsed["Subject"] == "Invoice" and parsed["X-Campaign"] == "spring"
    assert parsed["Message-ID"].startswith(f"<notifuse-smtp.{message.pk}.")
    assert [part.get_filename() for part in parsed.iter_attachments()] == ["invoice.pdf"]


def test_an_attachment_downloads_as_it_was_queued(staff):
    payload = bytes(range(256))
    message = make_message(make_integration(), attachments=[
        {"filename": "data.bin", "mimetype": "application/octet-stream",
         "content_b64": base64.b64encode(payload).decode()},
        {"filename": "page.html", "mimetype": "text/html",
         "content_b64": base64.b64encode(b"<script>x</script>").decode()},
    ])
    html = page_of(staff, f"/portal/messages/{message.pk}/")
    assert f'href="/portal/messages/{message.pk}/attachments/0/" download>data.bin</a>' in html
    response = staff.get(f"/portal/messages/{message.pk}/attachments/0/")
    assert response.content == payload
    assert response["Content-Disposition"] == 'attachment; filename="data.bin"'
    # HTML is handed over as a file, never shown as a page of the portal.
    html_file = staff.get(f"/portal/messages/{message.pk}/attachments/1/")
    assert html_file["Content-Disposition"].startswith("attachment;")
    assert staff.get(f"/portal/messages/{message.pk}/attachments/2/").status_code == 404


def test_an_unknown_message_answers_404(staff):
    assert staff.get("/portal/messages/999999/").status_code == 404
    assert staff.post("/portal/messages/999999/retry/").status_code == 404


# -- retry -----------------------------------------------------------------------------------

def test_retry_queues_a_failed_message_and_get_is_refused(staff):
    message = make_message(make_integration(), status=Status.FAILED)
    url = f"/portal/messages/{message.pk}/retry/"
    assert staff.get(url).status_code == 405
    message.refresh_from_db()
    assert message.status == Status.FAILED
    asked = staff.post(url)
    assert asked.status_code == 200 and 'id="confirm-retry"' in asked.content.decode()
    message.refresh_from_db()
    assert message.status == Status.FAILED  # asked, not done
    response = staff.post(url, {"confirm": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/portal/messages/{message.pk}/"
    assert "Queued again" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.deadline > timezone.now()


def test_retry_leaves_a_sent_message_alone(staff):
    message = make_message(make_integration())
    response = staff.post(f"/portal/messages/{message.pk}/retry/", follow=True)
    assert "Only failed messages can be retried" in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_the_message_page_loads_nothing_but_its_own_files_and_data_urls(staff):
    # The preview (srcdoc) inherits this policy; tests/browser checks what Chromium loads.
    message = make_message(make_integration(), html='<img src="https://tracker.example/p">')
    response = staff.get(f"/portal/messages/{message.pk}/")
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    for directive in ("default-src 'self'", "img-src 'self' data:",
                      "style-src 'self' 'unsafe-inline'", "font-src 'self' data:"):
        assert directive in policy
