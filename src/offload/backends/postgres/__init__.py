"""The store for many hosts: PostgreSQL through psycopg 3 (see docs/postgres.md).

Shaped like every store (docs/architecture.md): ``backend.py`` the class (lifecycle, the
job reads, the worker's writes, users' actions), with ``enqueue.py`` and ``catalog.py``
(queues, events, workers, schedules, statistics, tokens) mixed in; ``queries.py`` and
``catalog_queries.py`` their SQL by name; ``rows.py`` this store's row conversions;
``schema.py`` the migrations; ``connection.py`` the pool and transactions. This store
alone has ``listen.py`` (LISTEN sessions that wake workers) and ``aio.py`` (the reads
made on the event loop).

Mixins, not function modules: each protocol method is written once, in the module of
its concern, on the store's own state (``self.db``, ``self.q``, ``self.channel``), with
no forwarding method in the class and no extra call on the hot paths; each mixin
declares the attributes it uses, so the type checker holds them to it.
"""

from .backend import PostgresBackend

__all__ = ["PostgresBackend"]
