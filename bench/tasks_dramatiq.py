"""Dramatiq actors on a Redis broker."""

import os
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from marker import mark

broker = RedisBroker(url=os.environ["BENCH_REDIS_URL"])
dramatiq.set_broker(broker)


@dramatiq.actor(max_retries=0)
def noop():
    mark()


@dramatiq.actor(max_retries=0)
def sleep():
    time.sleep(0.1)
    mark()
