"""Languages notices are written in (the seeds' three plus English)."""

from __future__ import annotations

LANGUAGES = ("sl", "uk", "bg", "en")
LANGUAGE_NAMES = {"sl": "slovenščina", "uk": "українська", "bg": "български", "en": "English"}
LANGUAGE_NAMES_EN = {"sl": "Slovene", "uk": "Ukrainian", "bg": "Bulgarian", "en": "English"}
"""The languages' names as the (English) screens say them."""


def reason_in(reason: str, reasons: dict[str, str], language: str) -> str:
    """The reason a notice in `language` carries: its own if given, else the
    utility-language `reason` (the preview says which languages fall back)."""
    own = reasons.get(language, "").strip()
    return own or reason.strip()
