"""What an outage affects: nodes and single metering points, with exclusions."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Selection:
    """Included nodes and metering points, minus excluded ones.

    An exclusion wins over an inclusion at any depth: excluding a feeder
    under a selected substation removes all its metering points, even one
    that was also picked singly.
    """

    nodes: frozenset[int] = field(default_factory=frozenset)
    metering_points: frozenset[int] = field(default_factory=frozenset)
    excluded_nodes: frozenset[int] = field(default_factory=frozenset)
    excluded_metering_points: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not self.nodes and not self.metering_points
