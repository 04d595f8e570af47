"""Procrastinate tasks on PostgreSQL (psycopg 3)."""

import asyncio
import os

import procrastinate

from marker import mark

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ["BENCH_PG_DSN"]))


@app.task(queue="default", name="noop")
async def noop():
    mark()


@app.task(queue="default", name="sleep")
async def sleep():
    await asyncio.sleep(0.1)
    mark()
