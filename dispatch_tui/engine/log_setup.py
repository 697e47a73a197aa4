"""How `dispatch-tui engine` logs: state changes, as text or one JSON object a line.

APScheduler logs two INFO lines for every run of an interval job (every 2 s,
99 % of a day's log), so its loggers are held at WARNING. The listener's
access log (a line per delivery report) and our DEBUG lines (each report,
each inbound message) are for `-v`. Structured fields that our lines carry
(`extra=`: event, channel, counts) become keys of the JSON object.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("apscheduler",)
"""Loggers whose INFO lines are ticks, not news."""
ACCESS_LOG = "dispatch_tui.engine.listener.access"

_RECORD_KEYS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and the
    record's structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_KEYS and not key.startswith("_") and key not in data:
                data[key] = _plain(value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(
    *, verbose: bool = False, log_format: str = "text", stream: IO[str] | None = None
) -> logging.Handler:
    """Send log lines to `stream` (stderr: the journal under systemd); returns the handler."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: must be one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # DEBUG for our own lines only: aiohttp's and httpx's would bury them.
    logging.getLogger("dispatch_tui").setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger(ACCESS_LOG).setLevel(logging.INFO if verbose else logging.WARNING)
    return handler


def mask_number(address: str) -> str:
    """A phone number or chat id as a log may show it: its last three characters."""
    return "***" + address[-3:] if len(address) > 5 else "***"
