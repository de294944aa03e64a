"""How long rendering a message as a worker sends it takes, on the fast path and on the other.

    python bench/mime.py [--renders 2000]

For each kind of message: which path rendered it (fast: written directly; full: Django's
message classes serialised with the SMTP policy), and the CPU microseconds per render, the best
of three runs of `--renders` renders each (on a shared machine only CPU time tells what the code
costs). Tracking is off, so the figures are the MIME part alone. No database or broker is used.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update({
    "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50),
    "FERNET_KEYS": secrets.token_urlsafe(32), "DJANGO_SETTINGS_MODULE": "notifuse_smtp.settings",
    "LOG_LEVEL": "WARNING", "TRACKING_ENABLED": "false",
})

TEXT = "Hello Bob,\n\nyour order A-1001 shipped today.\n\nThanks,\nThe shop\n" * 4
HTML = "<p>Hello <b>Bob</b>,</p><p>your order <a href='https://shop.example/o/1'>A-1001</a></p>" * 4
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(2000)).decode("ascii")
PDF = base64.b64encode(b"%PDF-1.4\n" + bytes(20000)).decode("ascii")

CASES = {
    "text+html": {},
    "marketing": {"kind": "marketing", "unsubscribe_url": "https://shop.example/u/1",
                  "headers": {"X-Campaign": "spring"}},
    "utf-8 subject": {"subject": "Grüße aus München — Ihre Bestellung"},
    "long header": {"headers": {"X-Trace": "t" * 1200}},
    "attachments": {"attachments": [
        {"filename": "invoice.pdf", "mimetype": "application/pdf", "content_b64": PDF},
        {"filename": "notes.txt", "mimetype": "text/plain",
         "content_b64": base64.b64encode(TEXT.encode()).decode("ascii")},
    ]},
    "inline image": {"attachments": [
        {"filename": "logo.png", "mimetype": "image/png", "content_b64": PNG,
         "content_id": "logo@shop.example", "inline": True},
    ]},
}


def message(**fields):
    from django.utils import timezone

    from delivery.models import Message

    values = {
        "pk": 1, "text": TEXT, "html": HTML, "subject": "Your order shipped",
        "from_email": "Shop <shop@example.com>", "to": ["Bob <bob@example.org>"],
        "cc": [], "reply_to": [], "headers": {}, "attachments": [], "track": False,
        "kind": "transactional", "unsubscribe_url": "", "created_at": timezone.now(),
        **fields,
    }
    return Message(**values)


def cpu_per_render(render, item, renders: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(renders):
            render(item)
        best = min(best, time.process_time() - started)
    return best / renders * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=2000)
    renders = parser.parse_args().renders
    import django

    django.setup()
    from delivery.mime import fast_render, render

    print(f"{'message':<15} {'path':>5} {'µs CPU/render':>14} {'bytes':>7}")
    for label, fields in CASES.items():
        item = message(**fields)
        path = "fast" if fast_render(item) is not None else "full"
        micros = cpu_per_render(render, item, renders)
        print(f"{label:<15} {path:>5} {micros:>14,.0f} {len(render(item)):>7,}")


if __name__ == "__main__":
    main()
