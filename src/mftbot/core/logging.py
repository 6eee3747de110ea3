"""Structured logging: structlog, JSON lines or console, trace ids, secret redaction.

A trace id bound with :func:`trace` follows one operation across ``await`` points and into
tasks created inside it (contextvars). Any event key that names a secret (api key, secret,
password, token, signature, passphrase) is replaced by ``'***'``; secret values registered
with :func:`register_secret` are masked wherever they appear in a string.

structlog itself loads on the first log call (:func:`get_logger` hands out a lazy proxy), so
importing a module that only might log stays cheap.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import structlog
    from structlog.typing import EventDict, WrappedLogger

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"(api[_-]?key|secret|passw(or)?d|token|signature|passphrase|authorization|private[_-]?key)",
    re.IGNORECASE,
)
_registered_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask ``value`` wherever it appears in a logged string (ignores very short values)."""
    if len(value) >= 4:
        _registered_secrets.add(value)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _registered_secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, MutableMapping):
        return {k: (REDACTED if _is_secret_key(k) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret-named keys and registered secret values."""
    for key in list(event_dict):
        if _is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact_value(event_dict[key])
    return event_dict


class _StderrProxy:
    """Writes to whatever ``sys.stderr`` is at the moment of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    level: str = "INFO", fmt: str = "console", stream: TextIO | None = None
) -> None:
    """Configure structlog for the process (idempotent); logs go to stderr unless ``stream``."""
    import structlog

    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream or _StderrProxy()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


class _LazyLogger:
    """Stands for ``structlog.get_logger(name).bind(**bound)``, made on first use."""

    __slots__ = ("_bound", "_logger", "_name")

    def __init__(self, name: str | None, bound: dict[str, Any]) -> None:
        self._name = name
        self._bound = bound
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        logger = self._logger
        if logger is None:
            import structlog

            logger = structlog.get_logger(self._name)
            if self._bound:
                logger = logger.bind(**self._bound)
            self._logger = logger
        return getattr(logger, attr)


def get_logger(name: str | None = None, **bound: Any) -> Any:
    """A structlog logger, optionally with bound context (structlog loads on first use)."""
    return _LazyLogger(name, bound)


def new_trace_id() -> str:
    """A fresh 16-hex-digit trace id."""
    return uuid.uuid4().hex[:16]


@contextmanager
def trace(trace_id: str | None = None, **context: Any) -> Iterator[str]:
    """Bind a trace id (and extra context) for the duration of one operation."""
    import structlog

    tid = trace_id or new_trace_id()
    tokens = structlog.contextvars.bind_contextvars(trace_id=tid, **context)
    try:
        yield tid
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
