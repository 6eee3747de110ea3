"""Exchange ids <-> ccxt unified symbols."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mftbot.core.errors import DataError
from mftbot.data.symbols import QUOTE_ASSETS, split_pair, to_ccxt, to_exchange

CASES = [
    ("BTCUSDT", "binance", "BTC/USDT"),
    ("ETHBTC", "binance", "ETH/BTC"),
    ("BTCFDUSD", "binance", "BTC/FDUSD"),
    ("BNBTRY", "binance", "BNB/TRY"),
    ("SOLEUR", "binance", "SOL/EUR"),
    ("USDCUSDT", "binance", "USDC/USDT"),
    ("BTCUSDT", "binanceusdm", "BTC/USDT:USDT"),
    ("ETHUSDC", "binanceusdm", "ETH/USDC:USDC"),
    ("BTCUSDT_240927", "binanceusdm", "BTC/USDT:USDT-240927"),
    ("BTCUSD_PERP", "binancecoinm", "BTC/USD:BTC"),
    ("ETHUSD_240927", "binancecoinm", "ETH/USD:ETH-240927"),
    ("XRPUSDT", "bybit", "XRP/USDT:USDT"),
    ("BTCUSDC", "bybit", "BTC/USDC:USDC"),
    ("BTCUSD", "bybit", "BTC/USD:BTC"),
]


@pytest.mark.parametrize(("exchange_id", "venue", "unified"), CASES)
def test_to_ccxt_and_back(exchange_id: str, venue: str, unified: str) -> None:
    assert to_ccxt(exchange_id, venue) == unified
    assert to_ccxt(exchange_id.lower(), venue) == unified  # stream names are lower case
    assert to_exchange(unified, venue) == exchange_id


def test_longest_quote_suffix_wins() -> None:
    # FDUSD ends in USD, USDT starts like USD: the longest known suffix decides
    assert split_pair("BTCFDUSD") == ("BTC", "FDUSD")
    assert split_pair("BTCUSDT") == ("BTC", "USDT")
    assert split_pair("BTCUSD") == ("BTC", "USD")


def test_bybit_spot_needs_the_market() -> None:
    assert to_ccxt("BTCUSDT", "bybit", market="spot") == "BTC/USDT"
    assert to_exchange("BTC/USDT", "bybit") == "BTCUSDT"


@pytest.mark.parametrize(
    ("exchange_id", "venue"),
    [
        ("BTCXYZ", "binance"),  # unknown quote
        ("USDT", "binance"),  # nothing left for the base
        ("BTC-USDT", "binance"),  # not an exchange id
        ("BTCUSDT", "kraken"),  # unknown venue
        ("BTCUSD", "binancecoinm"),  # COIN-M needs _PERP or an expiry
        ("BTCUSDT_PERP", "binancecoinm"),  # inverse contracts are quoted in USD
        ("BTCUSDT_PERP", "binanceusdm"),  # linear ids have no _PERP
        ("BTCUSDT_2409", "binanceusdm"),  # bad expiry
        ("BTCBTC", "binanceusdm"),  # BTC is no linear settle asset
        ("BTCUSDT_240927", "binance"),  # spot ids have no suffix
        ("BTCUSDT_240927", "bybit"),
    ],
)
def test_to_ccxt_rejects(exchange_id: str, venue: str) -> None:
    with pytest.raises(DataError):
        to_ccxt(exchange_id, venue)


@pytest.mark.parametrize(
    ("symbol", "venue"),
    [
        ("BTCUSDT", "binance"),  # not unified
        ("BTC/USDT:USDT", "binance"),  # a contract on a spot venue
        ("BTC/USDT", "binanceusdm"),  # a spot pair on a futures venue
        ("BTC/USD:BTC", "binanceusdm"),  # inverse on the linear venue
        ("BTC/USDT:USDT", "binancecoinm"),  # linear on the inverse venue
        ("BTC/USDT:BTC", "bybit"),  # settle matches neither side sensibly
        ("BTC/USDT:USDT-240927", "bybit"),
        ("BTC/USDT", "ftx"),
    ],
)
def test_to_exchange_rejects(symbol: str, venue: str) -> None:
    with pytest.raises(DataError):
        to_exchange(symbol, venue)


# no B or F: "…B" + "USD" would read as BUSD, "…FD" + "USD" as FDUSD
_BASES = st.text(alphabet="ACDEGHIJKLMNOPQRSXYZ0123456789", min_size=2, max_size=8)


@given(base=_BASES, quote=st.sampled_from(QUOTE_ASSETS))
def test_spot_round_trip(base: str, quote: str) -> None:
    unified = to_ccxt(base + quote, "binance")
    assert unified == f"{base}/{quote}"
    assert to_exchange(unified, "binance") == base + quote
