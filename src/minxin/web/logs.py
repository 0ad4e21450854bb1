"""Structured logs: one JSON line per request, a request id on every line, no ID numbers ever.

* `RequestLogMiddleware` (outermost in the app) gives each request an id — the caller's
  `X-Request-ID` when it is a sane token, else a new one — returns it as the `X-Request-ID` response
  header, and logs one line on `minxin.access` when the answer is sent: `request_id`, `method`,
  `path` (never the query string: search terms are names and ID numbers; only the parameter names
  are kept, as `query_keys`), `status`, `duration_ms` and `user_id` when someone is logged in.
* `JsonFormatter` writes every record (access lines, errors with their traceback, uvicorn's own) as
  one JSON object per line; `RequestIdFilter` stamps the current request's id on every record
  logged while the request runs, so an error's traceback can be found from the access line.
* `IdNumberFilter` masks anything shaped like a resident ID number (18 digits, the last may be X;
  or a 15-digit old one) that would reach a log line — message, arguments, traceback, request
  fields — as the lists show it: `320706********1234`.

`log_config()` is the `logging.config.dictConfig` that `minxin serve` gives uvicorn (each worker
process configures itself with it).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minxin.core.masking import mask_id

access_log = logging.getLogger("minxin.access")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed into our logs and headers: only a short token of safe characters.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A resident ID number inside any text: 17 digits and a check character (0-9 or X), or 15 digits
# (first generation), not part of a longer run of digits or letters (a bank account, or the digits
# inside a hex request id, stay as they are).
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("minxin_request_id", default=None)

# Record attributes that belong to the logging machinery, not to what was logged.
# uvicorn's color_message repeats the message with terminal colours.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "color_message"}


def mask_id_numbers(text: str) -> str:
    """Mask every ID-number-shaped run of digits: "查 320706199001011234" → "查 320706********1234"."""
    return _ID_LIKE.sub(lambda m: mask_id(m.group(0)), text)


def current_request_id() -> str | None:
    return _request_id.get()


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_id_numbers(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


class IdNumberFilter(logging.Filter):
    """Mask ID numbers in a record before any handler formats it (put it on every handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = mask_id_numbers(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # The formatter prints exc_text when it is set: the masked traceback, never the raw one.
            record.exc_text = mask_id_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_id_numbers(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _mask_value(value))
        return True


class RequestIdFilter(logging.Filter):
    """Stamp the id of the request being served (if any) on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the record's extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in data and value is not None:
                data[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, ensure_ascii=False, default=str)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _SANE_REQUEST_ID.fullmatch(text) else None
    return None


def _query_keys(scope: Scope) -> list[str]:
    from urllib.parse import parse_qsl

    raw = scope.get("query_string", b"").decode("latin-1")
    keys: list[str] = []
    for key, _ in parse_qsl(raw, keep_blank_values=True):
        if key not in keys and len(keys) < 20:
            keys.append(key[:40])
    return keys


def _user_id(scope: Scope) -> Any:
    """The logged-in user's id, from the ORM identity: the request's session is closed by now and its
    attributes expired, so reading `user.id` would go back to the database (and fail)."""
    state = scope.get("state")
    user = state.get("user") if isinstance(state, dict) else None
    if user is None:
        return None
    try:
        identity = sa_inspect(user).identity
    except NoInspectionAvailable:
        return None
    return identity[0] if identity else None


class RequestLogMiddleware:
    """Request id in and out, and one access line per request (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, quiet_paths: frozenset[str] = frozenset({"/healthz"})) -> None:
        self.app = app
        # A load balancer polls these every few seconds: their successes are logged at DEBUG.
        self.quiet_paths = quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = _request_id.set(request_id)
        # The request's state dict, created here so the handlers' `request.state.user` lands in it.
        scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            path = scope.get("path", "")
            level = logging.DEBUG if status < 400 and path in self.quiet_paths else logging.INFO
            fields = {
                "request_id": request_id,
                "method": scope.get("method"),
                "path": path,
                "query_keys": _query_keys(scope) or None,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": _user_id(scope),
            }
            access_log.log(level, "%s %s %s", fields["method"], path, status, extra=fields)
            _request_id.reset(token)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The dictConfig for `minxin serve`: JSON lines on stderr, ID numbers masked, for every logger."""
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "json",
        "filters": ["request_id", "id_numbers"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "id_numbers": {"()": IdNumberFilter},
        },
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # uvicorn's own loggers go through the root handler (JSON, masked); its access log is
            # replaced by minxin.access.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # Alembic narrates every context it opens (the health check opens one per call).
            "alembic": {"level": "WARNING"},
        },
    }
