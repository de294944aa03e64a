"""How long finding and tracking links takes on large and malformed HTML, and that it is linear.

    python bench/links.py [--sizes 1,2,5]

For each pattern (the malformed ones of issue 14, and a newsletter repeated to size) and each
size in MB: the time to find the links when the message is queued, the time to render it as a
worker does on every send (links found again, rewritten, pixel added, MIME built), and the
time to render it untracked (the MIME part alone). Each figure is the best of three runs, in
wall-clock and in CPU seconds (on a machine shared with other work the CPU time is the one that
tells what the code costs). No database or broker is used. Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
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
    "LOG_LEVEL": "WARNING", "TRACKING_ENABLED": "true",
})

MB = 1_000_000
NEWSLETTER = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>News &amp; offers</title>
<style>td{padding:8px}a{color:#06c}</style><!--[if mso]><style>td{font-family:Arial}</style>
<![endif]--></head><body><table role="presentation" width="100%"><tr><td>
<h1>This week</h1><p>Hello {name}, here is what is new.</p>
<a href="https://shop.example/sale?utm_source=news&utm_medium=email&region=eu&timestamp=1700000000"
 title="see href=x" style="font-weight:bold">Spring sale</a>
<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="https://shop.example/cta"
 style="height:40px;width:200px" arcsize="10%" fillcolor="#06c"><w:anchorlock/><center>Shop
</center></v:roundrect><![endif]--><!--[if !mso]><!--><a href="https://shop.example/cta"
 class="button">Shop now</a><!--<![endif]--><img src="https://cdn.example/hero.jpg" alt="">
<map name="m"><area shape="rect" coords="0,0,50,50" href="https://shop.example/a?x=1&amp;y=2">
</map><p>Read <a href='https://blog.example/post/42#top'>the post</a> or
<a href="mailto:help@example.com">write to us</a>.</p></td></tr></table>
<p style="font-size:11px"><a href="https://shop.example/unsubscribe?id=42&copy=1">Unsubscribe</a>
</p>
"""
PATTERNS = {
    '"<a " * N': "<a ",
    '"</" * N': "</",
    '"<?" * N': "<?",
    "newsletter": NEWSLETTER,
}


def scaled(unit: str, size: int) -> str:
    return unit * (size // len(unit))


def timed(action, runs: int = 3) -> tuple[float, float]:
    """(wall, CPU) seconds, each the best of `runs` runs: other work on a shared machine only
    adds time, and the CPU time of this process is what the code costs."""
    wall = cpu = float("inf")
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return wall, cpu


def measure(html: str) -> dict[str, float]:
    """Seconds to find the links, to render, and to render untracked; and the links found."""
    from django.utils import timezone

    from delivery.mime import render
    from delivery.models import Message
    from delivery.tracking.finder import tracked_urls

    urls = tracked_urls(html)
    message = Message(
        pk=1, html=html, text="", subject="News", from_email="news@example.com",
        to=["bob@example.org"], headers={}, attachments=[], track=True, tracked_urls=urls,
        created_at=timezone.now(),
    )
    figures = {"links": len(urls)}
    figures["find"], figures["find cpu"] = timed(lambda: tracked_urls(html))
    figures["render"], figures["render cpu"] = timed(lambda: render(message))
    message.track = False
    figures["untracked"], figures["untracked cpu"] = timed(lambda: render(message))
    return figures


COLUMNS = ["links", "find", "find cpu", "render", "render cpu", "cpu/MB", "untracked",
           "untracked cpu"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,2,5", help="sizes in MB, comma-separated")
    sizes = [float(size) for size in parser.parse_args().sizes.split(",")]
    import django

    django.setup()
    print(f"{'pattern':<12} {'MB':>4} " + " ".join(f"{column:>13}" for column in COLUMNS))
    for label, unit in PATTERNS.items():
        for size in sizes:
            figures = measure(scaled(unit, int(size * MB)))
            figures["cpu/MB"] = figures["render cpu"] / size
            cells = [f"{figures['links']:>13,}"]
            cells += [f"{figures[column]:>13.3f}" for column in COLUMNS[1:]]
            print(f"{label:<12} {size:>4g} " + " ".join(cells))
    print("seconds, best of 3: wall clock, and CPU time of this process (cpu); render is what a"
          "\nworker does on each send, untracked render the MIME part alone")


if __name__ == "__main__":
    main()
