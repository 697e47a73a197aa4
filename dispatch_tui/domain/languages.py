"""Languages notices are written in (the seeds' three plus English)."""

from __future__ import annotations

LANGUAGES = ("sl", "uk", "bg", "en")
LANGUAGE_NAMES = {"sl": "slovenščina", "uk": "українська", "bg": "български", "en": "English"}
