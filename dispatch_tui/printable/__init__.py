"""Printable documents (entrance notices): HTML for browsers, PDF without one."""
