"""dispatch-tui: planned-outage notices for electricity distribution control rooms."""

__version__ = "0.1.0"
