"""Client order ids: deterministic, distinct, and valid on every venue."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.core.ids import (
    VENUE_CLIENT_ID_RULES,
    ClientOrderIdError,
    IntentKind,
    bot_prefix,
    client_order_id,
    is_own_client_order_id,
    parse_client_order_id,
    validate_client_order_id,
)

Args = tuple[str, str, str, int, IntentKind, int, str | None]
SAFE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")

texts = st.text(min_size=1, max_size=80)
inputs = st.tuples(
    texts,
    texts,
    texts,
    st.integers(min_value=0, max_value=2**63 - 1),
    st.sampled_from(list(IntentKind)),
    st.integers(min_value=0, max_value=10_000),
    st.none() | texts,
)


def _make(args: Args, **kw: str) -> str:
    bot, strategy, symbol, ts, intent, attempt, leg = args
    return client_order_id(bot, strategy, symbol, ts, intent, attempt=attempt, leg=leg, **kw)


@given(inputs)
def test_any_input_gives_a_short_safe_id_every_venue_accepts(args: Args) -> None:
    coid = _make(args)
    assert SAFE.fullmatch(coid)
    for venue in ("binance", "binanceusdm", "bybit", "sim"):
        assert validate_client_order_id(coid, venue) == coid
    okx = _make(args, venue="okx")
    assert re.fullmatch(r"[A-Za-z0-9]{1,32}", okx)


@given(inputs)
def test_same_inputs_give_the_same_id_and_parse_back(args: Args) -> None:
    coid = _make(args)
    assert _make(args) == coid
    parts = parse_client_order_id(coid)
    assert parts is not None
    assert parts.intent is args[4]
    assert parts.prefix == bot_prefix(args[0])
    assert is_own_client_order_id(coid, args[0])
    okx_parts = parse_client_order_id(_make(args, venue="okx"))
    assert okx_parts == parts


@given(st.lists(inputs, min_size=2, max_size=60, unique=True))
def test_distinct_inputs_give_distinct_ids(many: list[Args]) -> None:
    ids = [_make(args) for args in many]
    assert len(set(ids)) == len(ids)


def test_no_collision_over_a_grid_of_near_identical_intents() -> None:
    """40 000 intents differing in one field at a time (long shared bot id prefix included)."""
    bots = ["botalpha1", "botalpha2", "botalpha", "bot-alpha1"]
    strategies = ["ema", "ema_x", "rsi", "book"]
    symbols = ["BTC/USDT", "BTC/USDT:USDT", "ETH/USDT", "BTCUSDT", "BTC/USD"]
    grid = itertools.product(
        bots, strategies, symbols, range(50), list(IntentKind)[:2], range(5), [None]
    )
    ids = {
        _make((b, s, y, 1_700_000_000_000_000_000 + t, i, a, leg)) for b, s, y, t, i, a, leg in grid
    }
    assert len(ids) == 4 * 4 * 5 * 50 * 2 * 5


def test_every_field_changes_the_id() -> None:
    base = ("bot", "ema", "BTC/USDT", 10, IntentKind.ENTRY, 0, None)
    variants = [
        ("bot2", "ema", "BTC/USDT", 10, IntentKind.ENTRY, 0, None),
        ("bot", "ema2", "BTC/USDT", 10, IntentKind.ENTRY, 0, None),
        ("bot", "ema", "ETH/USDT", 10, IntentKind.ENTRY, 0, None),
        ("bot", "ema", "BTC/USDT", 11, IntentKind.ENTRY, 0, None),
        ("bot", "ema", "BTC/USDT", 10, IntentKind.EXIT, 0, None),
        ("bot", "ema", "BTC/USDT", 10, IntentKind.ENTRY, 1, None),
        ("bot", "ema", "BTC/USDT", 10, IntentKind.ENTRY, 0, "1"),
    ]
    ids = {_make(base), *(_make(v) for v in variants)}
    assert len(ids) == 1 + len(variants)


def test_field_boundaries_are_unambiguous() -> None:
    """Moving characters between adjacent fields must not reproduce an id."""
    a = client_order_id("ab", "c", "X", 1, "entry")
    b = client_order_id("a", "bc", "X", 1, "entry")
    assert a != b


def test_layout_is_readable() -> None:
    coid = client_order_id("Alpha Bot #1", "ema", "BTC/USDT", 5, "stop_loss")
    assert re.fullmatch(r"AlphaBot-sl-[0-9a-f]{20}", coid)
    assert bot_prefix("____") == "mft"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bot_id": ""}, "bot_id"),
        ({"strategy": ""}, "strategy"),
        ({"symbol": ""}, "symbol"),
        ({"signal_ts_ns": -1}, "signal_ts_ns"),
        ({"signal_ts_ns": True}, "signal_ts_ns"),
        ({"attempt": -1}, "attempt"),
        ({"leg": ""}, "leg"),
        ({"intent": "buy"}, "unknown intent"),
        ({"venue": "kraken"}, "no client order id rule"),
    ],
)
def test_bad_inputs_are_refused(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "bot_id": "b",
        "strategy": "s",
        "symbol": "BTC/USDT",
        "signal_ts_ns": 1,
        "intent": "entry",
    }
    args.update(kwargs)
    with pytest.raises(ClientOrderIdError, match=match):
        client_order_id(**args)  # type: ignore[arg-type]


def test_validation_enforces_each_venue_rule() -> None:
    assert validate_client_order_id("a.b:c/d", "binance") == "a.b:c/d"
    with pytest.raises(ClientOrderIdError, match="pattern"):
        validate_client_order_id("a.b", "bybit")
    with pytest.raises(ClientOrderIdError, match="37 chars"):
        validate_client_order_id("x" * 37, "bybit")
    with pytest.raises(ClientOrderIdError, match="pattern"):
        validate_client_order_id("a-b", "okx")
    with pytest.raises(ClientOrderIdError, match="pattern"):
        validate_client_order_id("", "binance")
    assert VENUE_CLIENT_ID_RULES["okx"].max_len == 32


def test_foreign_ids_are_not_ours() -> None:
    assert parse_client_order_id("web_1234567890") is None
    assert parse_client_order_id("alpha-zz-" + "0" * 20) is None  # unknown intent code
    assert parse_client_order_id("alpha-en" + "0" * 20) is None  # one separator only
    coid = client_order_id("alpha", "ema", "BTC/USDT", 1, "entry")
    assert not is_own_client_order_id(coid, "beta")
