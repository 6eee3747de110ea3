"""Deterministic client order ids that fit every venue's limits.

An id is derived from (bot id, strategy, symbol, signal time, intent, attempt, leg): the same
inputs always give the same id (so a restarted bot re-derives the id of an intent it wrote before
the crash and finds the order on the venue instead of sending it twice), and different inputs give
different ids. Layout, with ``-`` as separator where the venue allows it::

    <prefix ≤8>-<intent code 2>-<digest 20>      e.g. "alpha-en-3f9a1c0b7d2e4f6a8b9c"

``prefix`` is the bot id reduced to ``[A-Za-z0-9]`` (first 8 chars, ``"mft"`` if nothing is left),
so a bot can recognise its own orders on a shared account; ``digest`` is 80 bits of BLAKE2b over
an unambiguous (length-prefixed) encoding of *all* inputs, so truncating the prefix never makes two
bots share ids. The result is at most 32 characters of ``[A-Za-z0-9_-]`` (30 of ``[A-Za-z0-9]``
where the venue forbids separators), within Bybit ``orderLinkId`` (≤ 36), Binance
``newClientOrderId`` (``^[\\.A-Z\\:/a-z0-9_-]{1,36}$``) and OKX ``clOrdId`` (≤ 32 alphanumerics).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from mftbot.core.errors import MftbotError

SCHEME_VERSION = "v1"
"""Part of the hashed input: a future layout change cannot collide with today's ids."""

PREFIX_MAX_LEN = 8
DIGEST_HEX_LEN = 20
DEFAULT_PREFIX = "mft"


class ClientOrderIdError(MftbotError, ValueError):
    """A client order id cannot be built from these inputs or breaks a venue's rules."""


class IntentKind(StrEnum):
    """Why an order is sent; part of the id and shown as a 2-letter code in it."""

    ENTRY = "entry"
    EXIT = "exit"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    REDUCE = "reduce"
    FLATTEN = "flatten"


INTENT_CODES: MappingProxyType[IntentKind, str] = MappingProxyType(
    {
        IntentKind.ENTRY: "en",
        IntentKind.EXIT: "ex",
        IntentKind.STOP_LOSS: "sl",
        IntentKind.TAKE_PROFIT: "tp",
        IntentKind.TRAILING_STOP: "ts",
        IntentKind.REDUCE: "rd",
        IntentKind.FLATTEN: "fl",
    }
)
_INTENT_BY_CODE = {code: kind for kind, code in INTENT_CODES.items()}


@dataclass(frozen=True, slots=True)
class ClientIdRule:
    """A venue's constraint on client order ids."""

    max_len: int
    pattern: re.Pattern[str]
    separator: str
    """Separator used for this venue: ``"-"``, or ``""`` where only alphanumerics pass."""


_BINANCE = ClientIdRule(36, re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$"), "-")
_BYBIT = ClientIdRule(36, re.compile(r"^[A-Za-z0-9_-]{1,36}$"), "-")

VENUE_CLIENT_ID_RULES: MappingProxyType[str, ClientIdRule] = MappingProxyType(
    {
        "binance": _BINANCE,
        "binanceusdm": _BINANCE,
        "binancecoinm": _BINANCE,
        "bybit": _BYBIT,
        "okx": ClientIdRule(32, re.compile(r"^[A-Za-z0-9]{1,32}$"), ""),
        "sim": _BYBIT,
    }
)
"""Client order id rules per venue id (the values of ``mftbot.domain.enums.Venue`` plus OKX)."""


@dataclass(frozen=True, slots=True)
class ClientOrderIdParts:
    """The readable parts of an id this module made."""

    prefix: str
    intent: IntentKind
    digest: str


def bot_prefix(bot_id: str) -> str:
    """The readable prefix a bot's ids start with: ``[A-Za-z0-9]`` of ``bot_id``, ≤ 8 chars."""
    cleaned = re.sub(r"[^A-Za-z0-9]", "", bot_id)[:PREFIX_MAX_LEN]
    return cleaned or DEFAULT_PREFIX


def client_order_id(
    bot_id: str,
    strategy: str,
    symbol: str,
    signal_ts_ns: int,
    intent: IntentKind | str,
    *,
    attempt: int = 0,
    leg: str | None = None,
    venue: str | None = None,
) -> str:
    """Derive the client order id of one order intent.

    ``attempt`` distinguishes a deliberate resubmission (after a reject) of the same intent;
    ``leg`` distinguishes several orders of one intent (e.g. scale-out legs). ``venue`` picks the
    separator the venue accepts (default ``"-"``) and validates the result against its rules.
    """
    if isinstance(signal_ts_ns, bool) or not isinstance(signal_ts_ns, int) or signal_ts_ns < 0:
        raise ClientOrderIdError(f"signal_ts_ns must be an int ≥ 0 (ns), got {signal_ts_ns!r}")
    try:
        template = _template(bot_id, strategy, symbol, intent, attempt, leg, venue)
    except TypeError:  # an unhashable argument: let the checks name it
        template = _template.__wrapped__(bot_id, strategy, symbol, intent, attempt, leg, venue)
    head, tail, text = template
    ts = str(signal_ts_ns)
    hasher = head.copy()
    hasher.update(f"{len(ts)}:{ts}".encode() + tail)
    return text + hasher.hexdigest()


@functools.lru_cache(maxsize=256, typed=True)
def _template(
    bot_id: str,
    strategy: str,
    symbol: str,
    intent: IntentKind | str,
    attempt: int,
    leg: str | None,
    venue: str | None,
) -> tuple[hashlib.blake2b, bytes, str]:
    """What an id needs besides its signal time, checked once per combination: the hasher fed
    with the fields before the time, the encoded fields after it, and the id's text before the
    digest (the digest is hex of a fixed length, so the venue's rules hold for every time)."""
    kind = _intent(intent)
    for name, value in (("bot_id", bot_id), ("strategy", strategy), ("symbol", symbol)):
        if not isinstance(value, str) or not value:
            raise ClientOrderIdError(f"{name} must be a non-empty string, got {value!r}")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise ClientOrderIdError(f"attempt must be an int ≥ 0, got {attempt!r}")
    if leg is not None and (not isinstance(leg, str) or not leg):
        raise ClientOrderIdError(f"leg must be None or a non-empty string, got {leg!r}")
    rule = _rule(venue) if venue is not None else _BYBIT
    leg_field = "" if leg is None else "L" + leg
    before = [SCHEME_VERSION, bot_id, strategy, symbol]
    after = [kind.value, str(attempt), leg_field]
    head = hashlib.blake2b(_encoded(before), digest_size=DIGEST_HEX_LEN // 2)
    sep = rule.separator
    text = f"{bot_prefix(bot_id)}{sep}{INTENT_CODES[kind]}{sep}"
    if venue is not None:
        validate_client_order_id(text + "0" * DIGEST_HEX_LEN, venue)
    return head, _encoded(after), text


def _encoded(fields: list[str]) -> bytes:
    """The unambiguous (length-prefixed) encoding of ``fields`` that is hashed."""
    return "".join(f"{len(f)}:{f}" for f in fields).encode("utf-8", "surrogatepass")


def validate_client_order_id(coid: str, venue: str) -> str:
    """Return ``coid`` if ``venue`` accepts it, else raise :class:`ClientOrderIdError`."""
    rule = _rule(venue)
    if len(coid) > rule.max_len:
        raise ClientOrderIdError(
            f"client order id {coid!r} has {len(coid)} chars; {venue} allows {rule.max_len}"
        )
    if not rule.pattern.fullmatch(coid):
        raise ClientOrderIdError(
            f"client order id {coid!r} does not match {venue} pattern {rule.pattern.pattern}"
        )
    return coid


def parse_client_order_id(coid: str) -> ClientOrderIdParts | None:
    """Split an id made by :func:`client_order_id`; ``None`` for an id this module did not make.

    Foreign ids (manual orders, other bots) are normal on a shared account, hence no error.
    """
    digest_pat = f"[0-9a-f]{{{DIGEST_HEX_LEN}}}"
    prefix_pat = f"[A-Za-z0-9]{{1,{PREFIX_MAX_LEN}}}"
    match = re.fullmatch(f"({prefix_pat})-?([a-z]{{2}})-?({digest_pat})", coid)
    if match is None or match.group(2) not in _INTENT_BY_CODE:
        return None
    separators = coid.count("-")
    if separators not in (0, 2):
        return None
    return ClientOrderIdParts(match.group(1), _INTENT_BY_CODE[match.group(2)], match.group(3))


def is_own_client_order_id(coid: str, bot_id: str) -> bool:
    """Whether ``coid`` has the layout of this module and ``bot_id``'s prefix.

    A prefix match is a filter, not a proof: bots whose ids share their first 8 alphanumerics
    share the prefix. Recovery confirms ownership by re-deriving the id from the ledger's intent.
    """
    parts = parse_client_order_id(coid)
    return parts is not None and parts.prefix == bot_prefix(bot_id)


def _intent(intent: IntentKind | str) -> IntentKind:
    try:
        return IntentKind(intent)
    except ValueError:
        known = ", ".join(k.value for k in IntentKind)
        raise ClientOrderIdError(f"unknown intent {intent!r}; expected one of: {known}") from None


def _rule(venue: str) -> ClientIdRule:
    try:
        return VENUE_CLIENT_ID_RULES[venue]
    except KeyError:
        known = ", ".join(sorted(VENUE_CLIENT_ID_RULES))
        raise ClientOrderIdError(
            f"no client order id rule for venue {venue!r}; known: {known}"
        ) from None
