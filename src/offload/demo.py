"""Demo tasks that replay the kinds of work offload is for: a scraper, a long video
render, parallel mail fetches, an AI batch annotation, a flaky task and a broken one.

    offload worker --app offload.demo:app
    offload enqueue scrape --app offload.demo:app --args '["payback"]'

The store is ``OFFLOAD_URL`` (default ``sqlite:///offload.db``). Every task sleeps
instead of doing real I/O; ``speed`` scales those sleeps (tests use a small one).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from .app import App
from .context import JobContext

app = App()


def _pause(seconds: float, speed: float) -> None:
    time.sleep(seconds * speed)


@app.task(queue="default", retries=2, timeout=600)
def scrape(job: JobContext, shop: str = "payback", pages: int = 5, speed: float = 1.0) -> dict[str, Any]:
    """A shop scraper reporting each step, as an admin page would show it."""
    job.add_message(f"Starting {shop} scraper")
    job.set_progress(0, pages + 1)
    added = 0
    for page in range(1, pages + 1):
        job.check_cancelled()
        _pause(0.5, speed)
        found = 3 + page % 4
        added += found
        job.add_message(f"Page {page}/{pages}: {found} offers")
        job.set_progress(page, pages + 1)
    job.add_message("Saving offers")
    _pause(0.3, speed)
    job.set_progress(pages + 1, pages + 1)
    return {"shop": shop, "added": added, "updated": pages}


@app.task(queue="media", timeout=3600)
def generate_video(job: JobContext, prompt: str, frames: int = 120, speed: float = 1.0) -> dict[str, Any]:
    """A render that takes minutes (120 frames at 1 s) and reports frame N/M."""
    job.add_message(f"Rendering {frames} frames for {prompt!r}")
    for frame in range(1, frames + 1):
        job.check_cancelled()
        _pause(1.0, speed)
        job.set_progress(frame, frames)
        if frame % 10 == 0 or frame == frames:
            job.add_message(f"Generating frame {frame}/{frames}")
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:12]
    return {"output_url": f"/exports/{digest}.mp4", "frames": frames}


@app.task(queue="mail", retries=3, backoff=1.0, timeout=120)
def fetch_mail(job: JobContext, account: str, messages: int = 15, speed: float = 1.0) -> dict[str, Any]:
    """One mailbox sync; several run side by side."""
    job.add_message(f"Connecting to {account}")
    for n in range(1, messages + 1):
        _pause(1.0, speed)
        job.set_progress(n, messages)
    job.add_message(f"Fetched {messages} messages")
    return {"account": account, "fetched": messages}


@app.task(queue="ai", retries=2)
async def annotate_batch(job: JobContext, items: list[str], speed: float = 1.0) -> dict[str, Any]:
    """An AI batch annotation: one model call per item, on the worker's event loop."""
    labels = {}
    for i, item in enumerate(items, start=1):
        await asyncio.sleep(2.0 * speed)
        labels[item] = "positive" if len(item) % 2 == 0 else "negative"
        job.set_progress(i, len(items))
        job.add_message(f"Annotated {i}/{len(items)}: {item}")
    return {"labels": labels}


@app.task(retries=3, backoff=0.5)
def flaky(job: JobContext) -> str:
    """Fails on its first two attempts, then succeeds."""
    if job.attempt <= 2:
        raise ConnectionError(f"upstream timed out (attempt {job.attempt})")
    job.add_message(f"Succeeded on attempt {job.attempt}")
    return "ok"


@app.task(retries=1, backoff=0.5)
def always_fails(job: JobContext, reason: str = "the model server answered 500") -> None:
    """Fails every time: ends in the dead set with its error and traceback."""
    job.add_message("Calling the model server")
    raise RuntimeError(reason)


@app.task(queue="media")
def generate_image(prompt: str, steps: int = 20, speed: float = 1.0, progress_callback: Any = None) -> dict[str, Any]:
    """A legacy function in the callback style: progress_callback(percent, message)."""
    for step in range(1, steps + 1):
        _pause(0.5, speed)
        if progress_callback:
            progress_callback(100 * step / steps, f"Step {step}/{steps}")
    return {"output_url": f"/exports/{hashlib.sha256(prompt.encode()).hexdigest()[:12]}.png"}


# An inbox sync every five minutes, fired once by whichever worker gets there first.
app.schedules.periodic("fetch_mail", args=["inbox@example.com"], kwargs={"messages": 5}, interval=300)


def submit_showcase(speed: float = 1.0) -> list[str]:
    """Enqueue one of everything (what ``offload demo`` shows)."""
    handles = [
        scrape.enqueue("payback", speed=speed),
        generate_video.enqueue("a cat surfing at sunset", frames=30, speed=speed),
        *[fetch_mail.enqueue(f"user{i}@example.com", speed=speed) for i in range(1, 5)],
        annotate_batch.enqueue(["great product", "late delivery", "ok", "broken on arrival"], speed=speed),
        flaky.enqueue(),
        always_fails.enqueue(),
        generate_image.enqueue("a lighthouse in fog", speed=speed),
    ]
    return [h.id for h in handles]
