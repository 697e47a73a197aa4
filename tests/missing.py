"""What a test does when a real part it needs is missing on this machine."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason on a developer's machine; fail under CI=true, where
    `.ci/run` installs and starts every part, so a missing one is a broken CI."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
