"""The engine's HTTP listener (aiohttp.web): delivery reports, inbound SMS, bot webhooks.

Kannel calls the `dlr-url` we gave it: `/dlr/<token>?id=<message>&status=%d…`,
and its sms-service `get-url` for inbound SMS; Telegram and Viber post to
their webhooks. Whoever learns the URL can call it, so everything that
arrives is treated as hostile:

- the token (and the Telegram secret header, the Viber signature) is
  compared in constant time and never logged: the access log and
  aiohttp's error log show `***` in its place, and wrong tokens are
  logged once a minute with a count, so a scan cannot flood the log;
- each route takes only its method (Kannel GETs, the bots POST), and the
  Telegram route exists only in webhook mode with a secret;
- every malformed input (numbers out of range, invalid UTF-8, NUL bytes
  that PostgreSQL refuses, JSON nested too deep, over-long values, bodies
  beyond `max_body`) gets a 4xx with a short reason, never a 500 with a
  traceback;
- a Viber callback older than `viber_window` is refused and a repeated one
  is a no-op (by its message token, kept in memory for that window);
- an inbound SMS is checked against the reply policy (domain/reply_policy):
  replies only from a utility's sender id and only to mobile numbers.

A report for a message we do not know is answered 200 (so Kannel does not
retry it forever) and logged; applying the same report twice is harmless
because storage makes reports idempotent. The backlog is large: smsbox
fires callbacks over many parallel connections (recipe gotcha 6).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from dispatch_tui.domain.bot_updates import ChatText, telegram_update, viber_event
from dispatch_tui.domain.bot_updates import viber_signature_ok as _signature_matches
from dispatch_tui.domain.reply_policy import SenderId, decide
from dispatch_tui.engine.bots import ChatHandler

log = logging.getLogger(__name__)
http_log = logging.getLogger(__name__ + ".http")
"""aiohttp's server errors (parse errors, unhandled exceptions), tokens redacted."""
access_log = logging.getLogger(__name__ + ".access")

MAX_QUERY = 4096
"""Longest query string: a 10-part Cyrillic SMS percent-encoded stays well below it."""
MAX_PARAMS = 16
MAX_SMS_TEXT = 2000
MAX_JSON_DEPTH = 32
"""Telegram updates and Viber callbacks nest a handful of levels."""
MAX_MESSAGE_ID = 2**31 - 1
"""The message table's id is a 32-bit integer on PostgreSQL."""
MAX_BIGINT = 2**63 - 1
MAX_CHAT_ID = 64
"""bot_chat.chat_id is VARCHAR(64)."""
VIBER_WINDOW = 300.0
"""Seconds a Viber callback stays acceptable (either side of our clock)."""
REFUSAL_LOG_SECONDS = 60.0

_PHONE = re.compile(r"\+?[0-9]{3,15}")
_DIGITS = re.compile(r"[0-9]{1,19}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class DeliveryReport:
    """One Kannel DLR callback, by our message id (the dlr-url carries it, so a
    report may arrive before the sender's result is even recorded)."""

    message_id: int
    status: int
    """Kannel's DLR type: 1 delivered, 2 undelivered, 4 buffered, 8 SMSC ack, 16 SMSC reject."""
    detail: str


ReportHandler = Callable[[DeliveryReport], Awaitable[bool]]
"""Applies a report; False when the message id is unknown."""


@dataclass(frozen=True)
class InboundSms:
    sender: str
    receiver: str
    text: str
    gateway_id: str
    no_reply: str | None = None
    """Why this SMS must get no reply (reply policy); None: the usual limits decide."""


InboundHandler = Callable[[InboundSms], Awaitable[None]]
"""Handles an inbound SMS; raises ValueError for input that is not one."""

SenderIds = Callable[[], Awaitable[Sequence[SenderId]]]
"""The utilities' configured SMS senders, asked for each inbound SMS."""


def _bad(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=reason)


def redact(text: str, token: str, *, queries: bool = False) -> str:
    """`text` with the token, and whatever stands in a token's place in our routes, as ***;
    with `queries`, their query strings too (phone numbers and SMS texts)."""
    if token:
        text = text.replace(token, "***")
    text = re.sub(r"(/(?:dlr|mo|telegram|viber)/)[^/?\s\"']*", r"\1***", text)
    return re.sub(r"(/(?:dlr|mo)/\*\*\*)\?[^\s\"']*", r"\1?…", text) if queries else text


def _query(request: web.Request) -> dict[str, str]:
    """The query parameters, decoded strictly: each once, UTF-8, no NUL bytes, bounded."""
    raw = request.rel_url.raw_query_string
    if len(raw) > MAX_QUERY:
        raise web.HTTPRequestURITooLong(text="query string too long")
    try:
        pairs = urllib.parse.parse_qsl(
            raw, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMS
        )
    except UnicodeDecodeError:
        raise _bad("parameters are not UTF-8") from None
    except ValueError:
        raise _bad("too many parameters") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise _bad("NUL byte in a parameter")
        if name in params:
            raise _bad(f"parameter {name[:20]!r} given twice")
        params[name] = value
    return params


def _int_param(params: dict[str, str], name: str, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        raise _bad(f"missing parameter {name!r}")
    if not _DIGITS.fullmatch(raw) or int(raw) > maximum:
        raise _bad(f"parameter {name!r} must be an integer from 0 to {maximum}, got {raw[:20]!r}")
    return int(raw)


def _text_param(params: dict[str, str], name: str, limit: int, default: str | None = None) -> str:
    value = params.get(name, default)
    if value is None:
        raise _bad(f"missing parameter {name!r}")
    if len(value) > limit:
        raise _bad(f"parameter {name!r} longer than {limit} characters")
    return value


def _depth(text: str) -> int:
    """How deeply `text` (JSON) nests arrays and objects, strings skipped; one linear pass,
    so a body nested 5,000 deep is refused before the parser recurses into it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _check_strings(data: Any) -> None:
    """Refuse strings the database cannot store: NUL bytes and lone surrogates."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise _bad("NUL byte in the body")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _bad("invalid Unicode in the body") from None


def parse_json(body: bytes) -> Any:
    """A webhook body as JSON, or HTTPBadRequest naming what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("body is not UTF-8") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise _bad(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad("body is not JSON") from None
    _check_strings(data)
    return data


class _Refusals:
    """Counts refused requests (wrong token, secret or signature) and logs them at most once
    per `every` seconds per kind, with the count: the first at once, the rest summed up."""

    def __init__(self, every: float) -> None:
        self._every = every
        self._counts: dict[str, int] = {}
        self._last: dict[str, str] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, what: str, remote: str | None) -> None:
        self._last[what] = remote or "?"
        if self._timer is None:
            log.warning("%s from %s", what, remote or "?")
            self._timer = asyncio.get_running_loop().call_later(self._every, self.flush)
        else:
            self._counts[what] = self._counts.get(what, 0) + 1

    def flush(self, *, again: bool = True) -> None:
        """Log what was counted since the last line; the clock stops when nothing was."""
        self._timer = None
        counts, self._counts = self._counts, {}
        for what, count in counts.items():
            log.warning(
                "%s: %d more in the last %.0f s (latest from %s)",
                what,
                count,
                self._every,
                self._last[what],
            )
        if counts and again:
            self._timer = asyncio.get_running_loop().call_later(self._every, self.flush)

    def close(self) -> None:
        """Say what is still counted; nothing is scheduled afterwards."""
        if self._timer is not None:
            self._timer.cancel()
            self.flush(again=False)


class _SeenCallbacks:
    """Viber callbacks already taken, by key, for as long as one could still be accepted;
    bounded, so a flood cannot grow it without limit."""

    def __init__(self, keep_seconds: float, limit: int = 100_000) -> None:
        self._keep = keep_seconds
        self._limit = limit
        self._seen: OrderedDict[str, float] = OrderedDict()

    def claim(self, key: str) -> bool:
        """True the first time `key` comes (it is then taken); False for a repeat."""
        now = time.monotonic()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at <= self._keep and len(self._seen) < self._limit:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    def release(self, key: str) -> None:
        """Handling failed: the platform's retry must be taken."""
        self._seen.pop(key, None)


def _access_logger(token: str) -> type[AbstractAccessLogger]:
    class AccessLog(AbstractAccessLogger):
        """One line per request: the path with the token as ***, never the query (it holds
        phone numbers and SMS texts)."""

        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            self.logger.info(
                '%s "%s %s" %d %.3fs',
                request.remote,
                request.method,
                redact(request.path, token),
                response.status,
                time,
            )

    return AccessLog


def _client_error(exc: BaseException | None) -> HttpProcessingError | None:
    """The malformed-request error behind `exc` (aiohttp wraps a body's in another)."""
    while exc is not None:
        if isinstance(exc, HttpProcessingError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class _RedactServerLog(logging.Filter):
    """Error lines without the token, for aiohttp's and ours: a parse error (an over-long
    URL, a bad request line) becomes one warning without a traceback; any other traceback
    is kept but redacted (a handler's exception may quote a URL)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        bad = _client_error(record.exc_info[1] if record.exc_info else None)
        if bad is not None:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            message = f"{message}: {type(bad).__name__} {bad.code}: {str(bad.message)[:120]}"
        elif record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message, self._token, queries=True), ()
        record.exc_info, record.exc_text = None, None
        return True


class Listener:
    """Start with `await start()`; `report_url()` is the dlr-url template for Kannel."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        token: str,
        on_report: ReportHandler,
        on_inbound: InboundHandler | None = None,
        on_chat: ChatHandler | None = None,
        sender_ids: SenderIds | None = None,
        telegram_secret: str = "",
        viber_token: str = "",
        max_body: int = 16_384,
        viber_window: float = VIBER_WINDOW,
        refusal_log_seconds: float = REFUSAL_LOG_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not token:
            raise ValueError("the delivery-report listener needs a token")
        self.host = host
        self._port = port
        self._token = token
        self._on_report = on_report
        self._on_inbound = on_inbound
        self._on_chat = on_chat
        self._sender_ids = sender_ids
        self._telegram_secret = telegram_secret
        self._viber_token = viber_token
        self._viber_window = viber_window
        self._clock = clock
        self._refusals = _Refusals(refusal_log_seconds)
        self._log_filter = _RedactServerLog(token)
        self._viber_seen = _SeenCallbacks(2 * viber_window)
        self.app = web.Application(client_max_size=max_body)
        """Routes may be added before `start()`."""
        self.app.router.add_get("/health", self._health)
        self.app.router.add_get("/dlr/{token}", self._dlr, allow_head=False)
        if on_inbound is not None:
            self.app.router.add_get("/mo/{token}", self._mo, allow_head=False)
        if on_chat is not None and telegram_secret:
            self.app.router.add_post("/telegram/{token}", self._telegram)
        if on_chat is not None and viber_token:
            self.app.router.add_post("/viber/{token}", self._viber)
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        return self._port

    def _base(self, public_base: str | None) -> str:
        """Where Kannel reaches us; a wildcard bind address is not one to call."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return (public_base or f"http://{host}:{self.port}").rstrip("/")

    def report_url(self, public_base: str | None = None) -> str:
        """The dlr-url template for `KannelSender`: `{id}` is ours, `%d`… Kannel's."""
        return f"{self._base(public_base)}/dlr/{self._token}?id={{id}}&status=%d&smsc=%i&reply=%A"

    def inbound_url(self, public_base: str | None = None) -> str:
        """Kannel's sms-service `get-url` for inbound SMS."""
        base = self._base(public_base)
        return f"{base}/mo/{self._token}?from=%p&to=%P&text=%a&id=%I"

    def redact(self, text: str) -> str:
        """`text` safe to log: the token as ***."""
        return redact(text, self._token)

    def token_ok(self, token: str) -> bool:
        return token.isascii() and hmac.compare_digest(token.encode(), self._token.encode())

    async def start(self) -> None:
        http_log.addFilter(self._log_filter)
        log.addFilter(self._log_filter)
        self._runner = web.AppRunner(
            self.app,
            access_log=access_log,
            access_log_class=_access_logger(self._token),
            logger=http_log,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port, backlog=1024)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        self._refusals.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        http_log.removeFilter(self._log_filter)
        log.removeFilter(self._log_filter)

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def _refuse(self, request: web.Request, what: str, reason: str) -> web.HTTPForbidden:
        self._refusals.add(what, request.remote)
        return web.HTTPForbidden(text=reason)

    async def _checked(self, request: web.Request, what: str) -> bytes:
        """The body, once the token fits; bounded by client_max_size (413 beyond it)."""
        if not self.token_ok(request.match_info["token"]):
            raise self._refuse(request, f"{what} with a wrong token", "wrong token")
        if request.headers.get("Content-Encoding", "identity").lower() != "identity":
            raise web.HTTPUnsupportedMediaType(text="compressed bodies are not accepted")
        return await request.read() if request.can_read_body else b""

    async def _mo(self, request: web.Request) -> web.Response:
        """Kannel's get-url for inbound SMS; the empty answer is not sent back as SMS
        (sms-service max-messages = 0): replies go through the outbox."""
        await self._checked(request, "inbound SMS")
        assert self._on_inbound is not None
        params = _query(request)
        if not _PHONE.fullmatch(_text_param(params, "from", 32).strip()):
            raise _bad("parameter 'from' is not a phone number")
        sms = InboundSms(
            _text_param(params, "from", 32),
            _text_param(params, "to", 32, ""),
            _text_param(params, "text", MAX_SMS_TEXT),
            _text_param(params, "id", 64, ""),
        )
        try:
            senders = await self._sender_ids() if self._sender_ids is not None else ()
            decision = decide(sms.sender, sms.receiver, sms.text, senders)
            if not decision.handle:
                log.warning("inbound SMS ignored: a sign-up from a number we never text")
                return web.Response(text="")
            await self._on_inbound(
                InboundSms(sms.sender, sms.receiver, sms.text, sms.gateway_id, decision.no_reply)
            )
        except ValueError as exc:
            log.warning("inbound SMS refused: %s", exc)
            raise _bad(str(exc)[:200]) from None
        except Exception:
            log.exception("handling an inbound SMS failed")
            raise web.HTTPInternalServerError(text="not handled") from None
        return web.Response(text="")

    async def _chat(self, channel: str, text: ChatText) -> None:
        assert self._on_chat is not None
        try:
            await self._on_chat(channel, text)
        except Exception:
            log.exception("handling a %s update failed", channel)
            raise web.HTTPInternalServerError(text="not handled") from None

    async def _telegram(self, request: web.Request) -> web.Response:
        """Telegram's webhook. Updates that are not private texts are answered 200 (Telegram
        retries anything else); malformed ones 400."""
        body = await self._checked(request, "Telegram update")
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not (
            secret.isascii()
            and hmac.compare_digest(secret.encode(), self._telegram_secret.encode())
        ):
            raise self._refuse(request, "Telegram update with a wrong secret", "wrong secret")
        text = telegram_update(parse_json(body))
        if text is None:
            return web.Response(text="ignored")
        if not 0 <= (text.update_id or 0) <= MAX_BIGINT or len(text.chat_id) > 20:
            raise _bad("update_id or chat id out of range")
        await self._chat("telegram", text)
        return web.Response(text="")

    def _viber_fresh(self, data: Any) -> bool:
        stamp = data.get("timestamp") if isinstance(data, dict) else None
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            raise _bad("callback without a timestamp")
        return abs(self._clock() - stamp / 1000) <= self._viber_window

    async def _viber(self, request: web.Request) -> web.Response:
        """Viber's webhook: signature on the raw body before parsing, then freshness (its
        timestamp, ms) and repeats (message token and event, else the body)."""
        body = await self._checked(request, "Viber callback")
        signature = request.headers.get("X-Viber-Content-Signature", "")
        if not _HEX64.fullmatch(signature) or not _signature_matches(
            body, self._viber_token, signature
        ):
            raise self._refuse(request, "Viber callback with a bad signature", "bad signature")
        data = parse_json(body)
        if not self._viber_fresh(data):
            raise self._refuse(request, "stale Viber callback", "stale callback")
        token = data.get("message_token")
        if isinstance(token, int) and not isinstance(token, bool):
            key = f"{data.get('event')}:{token}"
        else:
            key = hashlib.sha256(body).hexdigest()
        text = viber_event(data)
        if text is not None and len(text.chat_id) > MAX_CHAT_ID:
            raise _bad("user id too long")
        if not self._viber_seen.claim(key):
            log.info("repeated Viber callback ignored")
            return web.Response(text="repeat")
        if text is None:
            return web.Response(text="ignored")
        try:
            await self._chat("viber", text)
        except BaseException:
            self._viber_seen.release(key)
            raise
        return web.Response(text="")

    async def _dlr(self, request: web.Request) -> web.Response:
        await self._checked(request, "delivery report")
        params = _query(request)
        report = DeliveryReport(
            message_id=_int_param(params, "id", MAX_MESSAGE_ID),
            status=_int_param(params, "status", 255),
            detail=" ".join(f"{k}={params[k]}" for k in ("smsc", "reply") if params.get(k))[:200],
        )
        try:
            known = await self._on_report(report)
        except Exception:
            log.exception("applying delivery report for message %d failed", report.message_id)
            raise web.HTTPInternalServerError(text="report not applied") from None
        if not known:
            log.warning("delivery report for unknown message %d ignored", report.message_id)
            return web.Response(text="unknown message, ignored")
        return web.Response(text="ok")
