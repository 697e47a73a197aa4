"""The Kannel side of a deployment: the `kannel.conf` fragment the README
shows (shipped here so the README, its test and an administrator's copy are
one text) and `doctor`, which checks a running Kannel against it."""

from __future__ import annotations

from importlib.resources import files

__all__ = ["config_fragment"]


def config_fragment() -> str:
    """The kannel.conf fragment for this product, as the README quotes it."""
    return files(__package__).joinpath("kannel.conf").read_text(encoding="utf-8")
