"""The monitor says how many unknown messages will not be sent again."""

from __future__ import annotations

from dispatch_tui.screens.monitor import state_cell
from dispatch_tui.storage.monitor import ChannelProgress


def channel(unknown: int, not_resent: int) -> ChannelProgress:
    return ChannelProgress("sms", {"unknown": unknown, "sent": 1200}, 0, False, None, not_resent)


def test_unknown_ones_that_will_not_be_resent_are_counted() -> None:
    assert state_cell(channel(1500, 1200), "unknown") == "1,500 (1,200 no resend)"
    assert state_cell(channel(1500, 0), "unknown") == "1,500"
    assert state_cell(channel(1500, 1200), "sent") == "1,200"
    assert state_cell(channel(0, 0), "pending") == "0"
