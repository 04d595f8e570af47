"""Placeholder until the PostgreSQL cluster fixture lands: postgres tests fail loudly."""

from __future__ import annotations

import pytest


@pytest.fixture
def postgres_url() -> str:
    pytest.fail("PostgreSQL test server is not available yet")
