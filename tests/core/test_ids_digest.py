"""Client order ids are exactly the documented BLAKE2b digest of the length-prefixed inputs
(the per-combination template the id function caches must not change a single id)."""

from __future__ import annotations

import hashlib

import pytest

from mftbot.core.ids import ClientOrderIdError, IntentKind, client_order_id


def reference(fields: list[str], prefix: str, code: str, sep: str = "-") -> str:
    payload = "".join(f"{len(f)}:{f}" for f in fields).encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(payload, digest_size=10).hexdigest()
    return f"{prefix}{sep}{code}{sep}{digest}"


@pytest.mark.parametrize("ts", [0, 1, 1_700_000_000_000_000_000, 2**63 - 1])
def test_ids_are_the_documented_digest(ts: int) -> None:
    fields = ["v1", "my-bot", "sma_cross", "ETH/BTC", str(ts), "entry", "0", ""]
    assert client_order_id("my-bot", "sma_cross", "ETH/BTC", ts, "entry") == reference(
        fields, "mybot", "en"
    )
    fields = ["v1", "my-bot", "é", "ETH/BTC", str(ts), "exit", "2", "Lb"]
    got = client_order_id(
        "my-bot", "é", "ETH/BTC", ts, IntentKind.EXIT, attempt=2, leg="b", venue="okx"
    )
    assert got == reference(fields, "mybot", "ex", sep="")


def test_a_cached_combination_still_refuses_a_bool_attempt() -> None:
    client_order_id("b", "s", "X/Y", 1, "entry", attempt=1)
    with pytest.raises(ClientOrderIdError, match="attempt"):
        client_order_id("b", "s", "X/Y", 1, "entry", attempt=True)
    with pytest.raises(ClientOrderIdError, match="signal_ts_ns"):
        client_order_id("b", "s", "X/Y", -1, "entry", attempt=1)
