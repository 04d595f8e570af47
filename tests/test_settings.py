"""Settings from the environment: the App's (``OFFLOAD_<NAME>``) and the web server's
(``OFFLOAD_API_<NAME>``) are read by one parser, so a value means the same in both and
one that means nothing is refused, naming the variable, instead of becoming a default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from offload import errors
from offload.web import WebConfig
from tests.support.procs import Procs

SPELLINGS = [("1", True), ("true", True), ("Yes", True), ("ON", True), ("0", False), ("false", False), ("no", False)]
SPELLINGS += [("Off", False)]
JUNK = ["maybe", "", "2", "enabled"]


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        yield p
    finally:
        p.cleanup()


@pytest.mark.parametrize(("raw", "value"), SPELLINGS)
def test_a_boolean_is_read_alike_by_the_app_and_the_web_server(
    raw: str, value: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFLOAD_RUN_SCHEDULER", raw)
    assert offload.App(f"sqlite:///{tmp_path / 'jobs.db'}").settings.run_scheduler is value
    assert WebConfig().with_env({"OFFLOAD_API_AUTH": raw}).auth is value


@pytest.mark.parametrize("raw", JUNK)
def test_a_boolean_that_means_nothing_is_refused_by_both(
    raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFLOAD_RUN_SCHEDULER", raw)
    with pytest.raises(errors.ConfigurationError, match=f"OFFLOAD_RUN_SCHEDULER='{raw}'"):
        offload.App(f"sqlite:///{tmp_path / 'jobs.db'}")
    with pytest.raises(errors.ConfigurationError, match=f"OFFLOAD_API_AUTH='{raw}' is not a valid auth"):
        WebConfig().with_env({"OFFLOAD_API_AUTH": raw})


def test_numbers_are_parsed_and_junk_refused(tmp_path: Path) -> None:
    config = WebConfig().with_env({"OFFLOAD_API_MAX_STREAMS": "7", "OFFLOAD_API_KEEPALIVE_S": "2.5"})
    assert (config.max_streams, config.keepalive_s) == (7, 2.5)
    with pytest.raises(errors.ConfigurationError, match="OFFLOAD_API_MAX_STREAMS='lots'"):
        WebConfig().with_env({"OFFLOAD_API_MAX_STREAMS": "lots"})


def test_serve_refuses_an_auth_setting_it_cannot_read(procs: Procs) -> None:
    """A mistyped OFFLOAD_API_AUTH must not turn authentication off."""
    out = procs.cli("serve", "--app", "offload.demo:app", "--port", "0", env={"OFFLOAD_API_AUTH": "maybe"}, timeout=30)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "OFFLOAD_API_AUTH='maybe' is not a valid auth" in out.stderr
