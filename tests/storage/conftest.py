"""Storage test fixtures shared by several modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.storage.csvdata import load_all


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    """The database with the CSV sample data (three utilities, five subscribers)."""
    load_all(engine, tmp_path)
    return engine
