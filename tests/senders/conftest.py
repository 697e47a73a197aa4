"""Real gateways for the sender tests (see tests/gateways.py)."""

from tests.gateways import kannel, kannel_factory, kannel_server

__all__ = ["kannel", "kannel_factory", "kannel_server"]
