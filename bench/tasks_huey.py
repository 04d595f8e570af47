"""Huey tasks; the storage (redis, sqlite, postgres) comes from BENCH_VARIANT."""

import os
import time

from marker import mark

VARIANT = os.environ.get("BENCH_VARIANT", "redis")
if VARIANT == "redis":
    from huey import RedisHuey

    huey = RedisHuey("bench", url=os.environ["BENCH_REDIS_URL"])
elif VARIANT == "sqlite":
    from huey import SqliteHuey

    huey = SqliteHuey("bench", filename=os.environ["BENCH_SQLITE_PATH"])
elif VARIANT == "postgres":
    from huey.contrib.sql_huey import SqlHuey

    huey = SqlHuey("bench", database=os.environ["BENCH_PG_DSN"].replace("postgresql://", "postgres://", 1))
else:
    raise ValueError(f"unknown Huey storage {VARIANT!r}")


@huey.task()
def noop():
    mark()


@huey.task()
def sleep():
    time.sleep(0.1)
    mark()
