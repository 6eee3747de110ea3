"""Structured logging: JSON lines, trace ids across async tasks, secret redaction."""

from __future__ import annotations

import asyncio
import io
import json
import sys

import pytest

from mftbot.core.logging import configure_logging, get_logger, register_secret, trace


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_with_level_and_timestamp() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    get_logger("t").info("order_sent", symbol="BTC/USDT", client_order_id="abc")
    get_logger("t").debug("hidden")
    (record,) = _lines(out)
    assert record["event"] == "order_sent"
    assert record["level"] == "info"
    assert record["symbol"] == "BTC/USDT"
    assert "timestamp" in record


def test_secret_keys_are_redacted() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    get_logger().info(
        "connect",
        api_key="AKIA123456",
        apiSecret="s3cr3t",
        password="hunter22",
        headers={"Authorization": "Bearer xyz", "Accept": "json"},
    )
    text = out.getvalue()
    for secret in ("AKIA123456", "s3cr3t", "hunter22", "Bearer xyz"):
        assert secret not in text
    (record,) = _lines(out)
    assert record["api_key"] == "***"
    assert record["headers"] == {"Authorization": "***", "Accept": "json"}


def test_registered_secret_masked_inside_strings() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    register_secret("Zq9-very-secret-token")
    get_logger().warning("request_failed", url="https://x/api?sig=Zq9-very-secret-token&a=1")
    assert "Zq9-very-secret-token" not in out.getvalue()
    assert "sig=***" in out.getvalue()


def test_trace_id_follows_async_tasks() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    log = get_logger()

    async def child(n: int) -> None:
        await asyncio.sleep(0)
        log.info("child_step", n=n)

    async def operation(name: str) -> str:
        with trace(op=name) as tid:
            await asyncio.gather(child(1), child(2))
            log.info("done")
            return tid

    async def main() -> tuple[str, str]:
        a, b = await asyncio.gather(operation("a"), operation("b"))
        log.info("outside")
        return a, b

    tid_a, tid_b = asyncio.run(main())
    records = _lines(out)
    assert tid_a != tid_b
    by_op = {"a": tid_a, "b": tid_b}
    for record in records:
        if record["event"] == "outside":
            assert "trace_id" not in record
        else:
            assert record["trace_id"] == by_op[str(record["op"])]
    assert sum(1 for r in records if r["event"] == "child_step") == 4


def test_default_stream_follows_stderr_swaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """A runner that swaps and closes sys.stderr must not break later logging."""
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO", "json")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    get_logger().info("after_swap")
    assert json.loads(second.getvalue())["event"] == "after_swap"
