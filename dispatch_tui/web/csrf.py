"""CSRF protection for the public web's forms: a signed double-submit cookie.

A form page gives the browser a token in a cookie (HttpOnly, SameSite=Strict)
and the same token in a hidden field; a POST is taken only when both are
there, equal, and signed with the server's secret. Another site can make a
browser post but can neither read the field nor, without the secret, make a
pair that passes (even where it could plant a cookie, from a sibling
subdomain). The token is a random nonce and its HMAC, so no state is kept
per visitor.

The secret lives in a file (`web.secret_file`, mode 0600, made on the first
start), outside the database the web's role may read, and survives restarts
so forms opened before one still work.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import stat
from pathlib import Path
from typing import Final

from aiohttp import web

from dispatch_tui.secret_file import write_new_secret

COOKIE: Final = "dispatch_csrf"
FIELD: Final = "csrf"
SECRET_BYTES: Final = 32
_NONCE_BYTES: Final = 24


class SecretError(Exception):
    """The secret file cannot be used; the message names the file and the fix."""


def load_secret(path: Path | str) -> bytes:
    """The secret in `path`, made (0600) if missing; refused if others may read it."""
    target = Path(path).expanduser()
    if not target.exists():
        _create(target)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        raw = target.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"{target}: cannot read the web secret: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"{target}: others may read the web secret (mode {mode:04o}); "
            f"anyone who has it can forge form tokens: run chmod 600 {target}"
        )
    try:
        secret = bytes.fromhex(raw)
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise SecretError(
            f"{target}: not a web secret ({SECRET_BYTES * 2} hex digits expected); "
            "delete it and a new one is made (open forms then need a reload)"
        )
    return secret


def _create(path: Path) -> None:
    """Write a fresh secret; a process racing us may win, and then its secret is the one."""
    try:
        write_new_secret(path, SECRET_BYTES, ".web-secret-")
    except OSError as exc:
        raise SecretError(f"{path}: cannot create the web secret: {exc.strerror}") from None


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, f"dispatch-tui csrf {nonce}".encode(), hashlib.sha256).hexdigest()


def new_token(secret: bytes) -> str:
    nonce = secrets.token_urlsafe(_NONCE_BYTES)
    return f"{nonce}.{_sign(secret, nonce)}"


def _signed(secret: bytes, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(secret, nonce))


def token_for(request: web.Request, secret: bytes) -> str:
    """The token a form page embeds: the browser's own if it is valid, else a new one
    (`set_cookie` gives it to the browser)."""
    held = request.cookies.get(COOKIE, "")
    return held if len(held) < 200 and _signed(secret, held) else new_token(secret)


def set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """Give the browser `token` (Secure when the page came over HTTPS, also through a
    reverse proxy that says so and is trusted)."""
    if request.cookies.get(COOKIE) == token:
        return
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
    )


def valid(request: web.Request, form_value: str, secret: bytes) -> bool:
    """Whether a POST carries the cookie and the same, signed, token in its form."""
    held = request.cookies.get(COOKIE, "")
    return (
        bool(held)
        and len(form_value) < 200
        and hmac.compare_digest(held.encode(), form_value.encode())
        and _signed(secret, held)
    )
