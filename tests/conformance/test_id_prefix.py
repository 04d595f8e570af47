"""job_ids_by_prefix: the jobs whose id starts with what a person typed, in id order."""

from __future__ import annotations

from offload.backends.base import Backend
from offload.records import JobStatus, new_job_id

from .helpers import T0, insert, job_in, make_job


def _ids(*heads: str) -> list[str]:
    """Valid 32-hex-digit ids that start with the given heads, padded from new_job_id."""
    return [(head + new_job_id())[:32] for head in heads]


def test_a_unique_prefix_finds_its_job_and_only_it(backend: Backend) -> None:
    a, b, c = _ids("aaaa01", "aaaa02", "bbbb")
    insert(backend, *(make_job(id=i) for i in (a, b, c)))
    assert backend.job_ids_by_prefix("aaaa01", limit=10) == [a]
    assert backend.job_ids_by_prefix("bbbb", limit=10) == [c]
    assert backend.job_ids_by_prefix(a, limit=10) == [a]  # the whole id is a prefix too
    assert backend.job_ids_by_prefix("cccc", limit=10) == []


def test_an_ambiguous_prefix_gives_every_candidate_in_id_order(backend: Backend) -> None:
    ids = _ids("aaaa03", "aaaa01", "aaaa02", "aaab")
    insert(backend, *(make_job(id=i) for i in ids))
    assert backend.job_ids_by_prefix("aaaa", limit=10) == sorted(ids[:3])
    assert backend.job_ids_by_prefix("aaa", limit=10) == sorted(ids)


def test_limit_takes_the_lowest_ids(backend: Backend) -> None:
    ids = sorted(_ids(*(f"cafe{n:02d}" for n in range(8))))
    insert(backend, *(make_job(id=i) for i in reversed(ids)))
    assert backend.job_ids_by_prefix("cafe", limit=3) == ids[:3]
    assert backend.job_ids_by_prefix("cafe", limit=1) == ids[:1]


def test_the_ends_of_the_hex_range_belong_to_their_prefix(backend: Backend) -> None:
    """The lowest and highest ids under a prefix are found; their neighbours under the
    next and previous prefixes are not."""
    low, high = "ab" + "0" * 30, "ab" + "f" * 30
    below, above = "aa" + "f" * 30, "ac" + "0" * 30
    top, bottom = "f" * 32, "0" * 32
    insert(backend, *(make_job(id=i) for i in (low, high, below, above, top, bottom)))
    assert backend.job_ids_by_prefix("ab", limit=10) == [low, high]
    assert backend.job_ids_by_prefix("f", limit=10) == [top]
    assert backend.job_ids_by_prefix("0", limit=10) == [bottom]


def test_jobs_in_every_state_are_found(backend: Backend) -> None:
    ids = {status: job_in(backend, status, now=T0)[0].id for status in JobStatus}
    for status, job_id in ids.items():
        assert backend.job_ids_by_prefix(job_id[:20], limit=10) == [job_id], status
