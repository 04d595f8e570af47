"""API tokens: only hashes are stored; revocation is one-way."""

from __future__ import annotations

import asyncio

import pytest

from offload.backends.base import Backend
from offload.records import JobRecord, TokenRecord

from .helpers import T0, get, insert_one


def tok(token_id: str, *, user: str = "alice", admin: bool = False, created: float = T0) -> TokenRecord:
    return TokenRecord(id=token_id, user=user, hash=f"hash-{token_id}", admin=admin, created_at=created)


def test_insert_and_find_by_hash(backend: Backend) -> None:
    t = tok("t1", admin=True)
    backend.token_insert(t)
    assert backend.token_by_hash("hash-t1") == t
    assert backend.token_by_hash("hash-nope") is None


def test_list_oldest_first(backend: Backend) -> None:
    backend.token_insert(tok("b", created=T0 + 2))
    backend.token_insert(tok("a", created=T0 + 1))
    backend.token_insert(tok("c", user="bob", created=T0 + 3))
    assert [t.id for t in backend.token_list()] == ["a", "b", "c"]


def test_revoke(backend: Backend) -> None:
    backend.token_insert(tok("t1"))
    backend.token_insert(tok("t2"))
    assert backend.token_revoke("t1", now=T0 + 5) is True
    revoked = backend.token_by_hash("hash-t1")
    assert revoked is not None and revoked.revoked_at == pytest.approx(T0 + 5)
    other = backend.token_by_hash("hash-t2")
    assert other is not None and other.revoked_at is None


def test_revoke_twice_or_missing(backend: Backend) -> None:
    backend.token_insert(tok("t1"))
    assert backend.token_revoke("t1", now=T0 + 5) is True
    assert backend.token_revoke("t1", now=T0 + 6) is False
    t = backend.token_by_hash("hash-t1")
    assert t is not None and t.revoked_at == pytest.approx(T0 + 5)  # the first revocation stands
    assert backend.token_revoke("nope", now=T0) is False


def test_revoked_tokens_are_still_listed(backend: Backend) -> None:
    backend.token_insert(tok("t1"))
    backend.token_revoke("t1", now=T0 + 1)
    [t] = backend.token_list()
    assert t.id == "t1" and t.revoked_at is not None


def test_a_status_gets_reads_on_the_event_loop(backend: Backend) -> None:
    """async_reads.token_and_job_get answers as token_by_hash and job_get would, for
    each of: both found, an unknown token, an unknown job, no job asked for, a revoked
    token (returned with its revocation: refusing it is the service's job)."""
    reads = backend.async_reads
    assert reads is not None
    backend.token_insert(tok("t1", admin=True))
    backend.token_insert(tok("t2"))
    backend.token_revoke("t2", now=T0 + 5)
    job_id = insert_one(backend)

    async def read_all() -> list[tuple[TokenRecord | None, JobRecord | None]]:
        try:
            return [
                await reads.token_and_job_get("hash-t1", job_id),
                await reads.token_and_job_get("hash-nope", job_id),
                await reads.token_and_job_get("hash-t1", "0" * 32),
                await reads.token_and_job_get("hash-t1", None),
                await reads.token_and_job_get("hash-t2", job_id),
                (None, await reads.job_get(job_id)),
            ]
        finally:
            await reads.close()

    both, no_token, no_job, not_asked, revoked, alone = asyncio.run(read_all())
    assert both == (backend.token_by_hash("hash-t1"), get(backend, job_id))
    assert no_token == (None, get(backend, job_id))
    assert no_job == (backend.token_by_hash("hash-t1"), None) == not_asked
    assert revoked[0] is not None and revoked[0].revoked_at == pytest.approx(T0 + 5)
    assert alone == (None, get(backend, job_id))
