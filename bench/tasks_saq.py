"""SAQ jobs and worker settings; concurrency comes from BENCH_SLOTS."""

import asyncio
import os

from saq import Queue

from marker import mark

queue = Queue.from_url(os.environ["BENCH_REDIS_URL"])


async def noop(ctx):
    mark()


async def progress(ctx):
    job = ctx["job"]
    for i in range(100):
        await job.update(progress=(i + 1) / 100)
    mark()


async def sleep(ctx):
    await asyncio.sleep(0.1)
    mark()


settings = {
    "queue": queue,
    "functions": [noop, progress, sleep],
    "concurrency": int(os.environ.get("BENCH_SLOTS", "10")),
}
