"""The embedded default store: one SQLite file in WAL mode.

Shaped like every store (docs/architecture.md): ``backend.py`` the class (lifecycle, the
job reads, the worker's writes, users' actions), with ``enqueue.py`` and ``catalog.py``
(queues, events, workers, schedules, statistics, tokens) mixed in; ``queries.py`` and
``catalog_queries.py`` their SQL by name; ``rows.py`` this store's row conversions;
``schema.py`` the migrations; ``connection.py`` connections and transactions. This store
alone has ``bells.py`` (waking workers without LISTEN/NOTIFY), ``reads.py`` (the reads
made on the event loop) and ``batches.py`` (multi-row statements).

Mixins, not function modules: each protocol method is written once, in the module of
its concern, on the store's own state (``self.db``, ``self.bells``), with no forwarding
method in the class and no extra call on the hot paths; each mixin declares the
attributes it uses, so the type checker holds them to it.
"""

from .backend import SQLiteBackend

__all__ = ["SQLiteBackend"]
