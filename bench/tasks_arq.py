"""arq jobs and worker settings; max_jobs comes from BENCH_SLOTS."""

import asyncio
import os

from arq.connections import RedisSettings

from marker import mark


async def noop(ctx):
    mark()


async def sleep(ctx):
    await asyncio.sleep(0.1)
    mark()


class WorkerSettings:
    functions = [noop, sleep]
    redis_settings = RedisSettings.from_dsn(os.environ["BENCH_REDIS_URL"])
    max_jobs = int(os.environ.get("BENCH_SLOTS", "10"))
