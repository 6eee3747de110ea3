"""Compiled kernels of the replay fast path: line scanner, L2 books, ticker check, merge.

All in one module on purpose: numba's on-disk cache checks only the source file of each
compiled function, while a kernel inlines the kernels and constants it calls, so kernels in
several files could run a stale copy of a changed one. Here any change recompiles them all.

* :func:`scan_lines` turns Binance recording lines into array records (see its notes);
* the book kernels keep each side as an open-addressing table ``price -> size`` plus a
  heap of prices for the best level, as :class:`~mftbot.domain.orderbook.OrderBook` keeps a
  dict and a heap; :func:`try_delta` is the in-sequence case of the synchronizers;
* the ticker kernels do what :class:`~mftbot.domain.book_sync.TickerCheck` does;
* :func:`run` merges the streams' records in ``(ts_recv, stream)`` order, as
  :func:`~mftbot.data.replay.merge_streams` does, and applies them until one needs Python.

Line scanner notes: it accepts a strict subset of what the reference decoder accepts, and on
that subset gives the same values: integers are plain digits (no sign, no leading zero,
int64); prices and sizes are strings of digits with an optional fraction, converted exactly
(the decimal mantissa is below 2**53 and the power of ten at most 22, so one IEEE division
gives the correctly rounded value, the same float as ``float(s)``); a price must be > 0.
Unknown keys may hold strings without escapes, numbers, ``true``, ``false`` or ``null``.
Anything else (whitespace, escapes, duplicate known keys, nested values in unknown keys, a
missing field, a snapshot line) is left to the reference reader, so no line is rejected here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import numba
import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])
# ``_nrt=False``: the kernels allocate nothing, and without the runtime no call between them
# counts references of its array arguments (two atomic calls per array and call otherwise,
# which cost more than the work of a small kernel).
_JIT_OPTIONS: Final[dict[str, Any]] = {"cache": True, "nogil": True, "_nrt": False}
_njit = cast(Callable[[_F], _F], numba.njit(**_JIT_OPTIONS))

_INT64_MAX: Final = (1 << 63) - 1

# -- records ---------------------------------------------------------------------------------

K_DEPTH: Final = 0
"""A diff-depth update: ``ts_event`` = E ms in ns, ``a`` = U, ``b`` = u, ``c`` = pu."""
K_TRADE: Final = 1
"""A trade (only counted by the book replay)."""
K_QUOTE: Final = 2
"""A bookTicker: ``b`` = u, the bid and ask as two levels (bid first)."""
K_SLOW: Final = 3
"""A line for the reference reader: ``a``..``b`` is its byte span, ``c`` its line number."""
K_EVENT: Final = 4
"""A Python event decoded the reference way: ``a`` is its index in the chunk's event list."""
K_SKIP: Final = 5
"""Nothing (a line the reference reader rejected or ignored)."""

# Record integer fields (columns of the ``ints`` array).
F_BOOK: Final = 0
F_TS: Final = 1
F_TS_EVENT: Final = 2
F_A: Final = 3
F_B: Final = 4
F_C: Final = 5
F_HAS_C: Final = 6
F_BIDS: Final = 7
F_NBIDS: Final = 8
F_ASKS: Final = 9
F_NASKS: Final = 10
N_FIELDS: Final = 11

_MAX_MANTISSA = 1 << 53
_MAX_DIGITS = 18
_MAX_E_MS = 9_223_372_036_854  # E * 1_000_000 stays within int64
_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)

_Q = 34  # "
_COMMA = 44
_COLON = 58
_LBRACK = 91
_RBRACK = 93
_LBRACE = 123
_RBRACE = 125
_ZERO = 48
_NINE = 57
_DOT = 46
_SPACE = 32
_NL = 10
_BSLASH = 92

_ENVELOPE = np.frombuffer(b'{"stream":"', dtype=np.uint8).copy()
_DATA = np.frombuffer(b',"data":{', dtype=np.uint8).copy()


@_njit
def _int(buf: Any, p: int, e: int) -> tuple[int, int]:
    """Plain JSON integer at ``p``: (value, end) or (0, -1)."""
    start = p
    v = 0
    while p < e and _ZERO <= buf[p] <= _NINE:
        v = v * 10 + (buf[p] - _ZERO)
        p += 1
    n = p - start
    if n == 0 or n > _MAX_DIGITS or (n > 1 and buf[start] == _ZERO):
        return 0, -1
    return v, p


_INT64_DIGITS = np.frombuffer(b"9223372036854775807", dtype=np.uint8).copy()


@_njit
def _fits(buf: Any, p: int, q: int) -> bool:
    """Whether the digits ``buf[p:q]`` (no sign) are an int64."""
    n = q - p
    if n < 19:
        return True
    if n > 19:
        return False
    for i in range(19):
        if buf[p + i] != _INT64_DIGITS[i]:
            return bool(buf[p + i] < _INT64_DIGITS[i])
    return True


@_njit
def _num_str_long(buf: Any, p: int, e: int, pow10: Any) -> tuple[float, int]:
    """As :func:`_num_str`, for strings of more than 18 digits (rare).

    One pass: the mantissa collects every digit, the fraction's zeros only once a non-zero
    digit follows them (trailing zeros never enter it).
    """
    if p >= e or buf[p] != _Q:
        return -1.0, -1
    p += 1
    start = p
    m = 0
    while p < e:
        c = buf[p]
        if c < _ZERO or c > _NINE:
            break
        m = m * 10 + (c - _ZERO)
        if m >= _MAX_MANTISSA:
            return -1.0, -1
        p += 1
    if p == start or (p - start > 1 and buf[start] == _ZERO):
        return -1.0, -1
    k = 0
    if p < e and buf[p] == _DOT:
        p += 1
        frac_start = p
        zeros = 0
        while p < e:
            c = buf[p]
            if c < _ZERO or c > _NINE:
                break
            if c == _ZERO:
                zeros += 1
            else:
                while zeros > 0:
                    m *= 10
                    k += 1
                    zeros -= 1
                    if m >= _MAX_MANTISSA:
                        return -1.0, -1
                m = m * 10 + (c - _ZERO)
                k += 1
                if m >= _MAX_MANTISSA:
                    return -1.0, -1
            p += 1
        if p == frac_start:
            return -1.0, -1
    if p >= e or buf[p] != _Q or k > 22:
        return -1.0, -1
    value = float(m) if k == 0 else float(m) / pow10[k]
    return value, p + 1


@_njit
def _num_str(buf: Any, p: int, e: int, pow10: Any) -> tuple[float, int]:
    """Decimal string ``"ddd[.ddd]"`` at ``p`` (on the quote): (value, end) or (-1.0, -1).

    The digits (at most 18, so no overflow; longer strings go to :func:`_num_str_long`)
    form an integer mantissa ``m`` and the fraction's length ``k``; ``m / 10**k`` is then
    one correctly rounded IEEE division of two exact values, the same float as
    ``float(s)``. Trailing zeros give the same quotient, so they are stripped only when
    ``m`` or ``k`` is too large for that.
    """
    if p >= e or buf[p] != _Q:
        return -1.0, -1
    p += 1
    start = p
    m = 0
    while p < e:
        c = buf[p]
        if c < _ZERO or c > _NINE:
            break
        m = m * 10 + (c - _ZERO)
        p += 1
    digits = p - start
    if digits == 0 or (digits > 1 and buf[start] == _ZERO):
        return -1.0, -1
    k = 0
    if p < e and buf[p] == _DOT:
        p += 1
        frac_start = p
        while p < e:
            c = buf[p]
            if c < _ZERO or c > _NINE:
                break
            m = m * 10 + (c - _ZERO)
            p += 1
        k = p - frac_start
        if k == 0:
            return -1.0, -1
    if digits + k > _MAX_DIGITS:
        return _num_str_long(buf, start - 1, e, pow10)
    if p >= e or buf[p] != _Q:
        return -1.0, -1
    if m >= _MAX_MANTISSA or k > 22:
        while k > 0 and m % 10 == 0:
            m //= 10
            k -= 1
        if m >= _MAX_MANTISSA or k > 22:
            return -1.0, -1
    return float(m) / pow10[k], p + 1


@_njit
def _skip_value(buf: Any, p: int, e: int) -> int:
    """End of a scalar JSON value at ``p`` (string without escapes, number, literal), or -1."""
    if p >= e:
        return -1
    c = buf[p]
    if c == _Q:
        p += 1
        while p < e and buf[p] != _Q:
            if buf[p] == _BSLASH or buf[p] < _SPACE:
                return -1
            p += 1
        return p + 1 if p < e else -1
    if c in (_LBRACK, _LBRACE):
        return -1
    start = p
    while p < e and buf[p] != _COMMA and buf[p] != _RBRACE:
        c = buf[p]
        if not (
            (_ZERO <= c <= _NINE)
            or c == _DOT
            or c == 45  # -
            or c == 43  # +
            or c == 101  # e
            or c == 69  # E
            or (97 <= c <= 122)  # true, false, null
        ):
            return -1
        p += 1
    return p if p > start else -1


@_njit
def _levels(
    buf: Any, p: int, e: int, px: Any, sz: Any, n: int, cap: int, pow10: Any
) -> tuple[int, int]:
    """``[["p","s"],...]`` at ``p`` appended at ``n``: (new n, end) or (n, -1)."""
    if p >= e or buf[p] != _LBRACK:
        return n, -1
    p += 1
    if p < e and buf[p] == _RBRACK:
        return n, p + 1
    while True:
        if n >= cap or p >= e or buf[p] != _LBRACK:
            return n, -1
        price, p = _num_str(buf, p + 1, e, pow10)
        if p < 0 or price <= 0.0 or p >= e or buf[p] != _COMMA:
            return n, -1
        size, p = _num_str(buf, p + 1, e, pow10)
        if p < 0 or p >= e or buf[p] != _RBRACK:
            return n, -1
        px[n] = price
        sz[n] = size
        n += 1
        p += 1
        if p >= e:
            return n, -1
        if buf[p] == _RBRACK:
            return n, p + 1
        if buf[p] != _COMMA:
            return n, -1
        p += 1


@_njit
def _key(buf: Any, p: int, e: int) -> tuple[int, int, int]:
    """Key at ``p`` (on its quote): (first char, length, position after the colon)."""
    if p >= e or buf[p] != _Q:
        return 0, 0, -1
    start = p + 1
    p = start
    while p < e and buf[p] != _Q:
        if buf[p] == _BSLASH or buf[p] < _SPACE:
            return 0, 0, -1
        p += 1
    if p + 1 >= e or buf[p + 1] != _COLON:
        return 0, 0, -1
    length = p - start
    first = buf[start] if length > 0 else 0
    second = buf[start + 1] if length > 1 else 0
    return first * 256 + second, length, p + 2


@_njit
def _literal(buf: Any, p: int, e: int, lit: Any) -> int:
    n = len(lit)
    if p + n > e:
        return -1
    for i in range(n):
        if buf[p + i] != lit[i]:
            return -1
    return p + n


# Key codes: first char * 256 + second char (0 when the key has one char).
_K_E = 69 * 256
_K_U = 85 * 256
_K_u = 117 * 256
_K_pu = 112 * 256 + 117
_K_b = 98 * 256
_K_a = 97 * 256
_K_B = 66 * 256
_K_A = 65 * 256
_K_t = 116 * 256
_K_p = 112 * 256
_K_q = 113 * 256
_K_T = 84 * 256
_K_m = 109 * 256


@_njit
def _data(
    buf: Any,
    p: int,
    e: int,
    kind: int,
    ints: Any,
    r: int,
    px: Any,
    sz: Any,
    n: int,
    cap: int,
    pow10: Any,
) -> tuple[int, int]:
    """The ``data`` object's members (``p`` just after its ``{``): (levels n, end) or -1."""
    seen = 0
    n0 = n
    if p < e and buf[p] == _RBRACE:
        return n0, -1  # empty: required fields missing
    while True:
        code, length, p = _key(buf, p, e)
        if p < 0:
            return n0, -1
        bit = 0
        if kind == K_DEPTH:
            if length == 1 and code == _K_E:
                bit = 1
                v, p = _int(buf, p, e)
                if p < 0 or v > _MAX_E_MS:
                    return n0, -1
                ints[r, F_TS_EVENT] = v * 1_000_000
            elif length == 1 and code == _K_U:
                bit = 2
                v, p = _int(buf, p, e)
                ints[r, F_A] = v
            elif length == 1 and code == _K_u:
                bit = 4
                v, p = _int(buf, p, e)
                ints[r, F_B] = v
            elif length == 2 and code == _K_pu:
                bit = 8
                v, p = _int(buf, p, e)
                ints[r, F_C] = v
                ints[r, F_HAS_C] = 1
            elif length == 1 and code == _K_b:
                bit = 16
                start = n
                n, p = _levels(buf, p, e, px, sz, n, cap, pow10)
                ints[r, F_BIDS] = start
                ints[r, F_NBIDS] = n - start
            elif length == 1 and code == _K_a:
                bit = 32
                start = n
                n, p = _levels(buf, p, e, px, sz, n, cap, pow10)
                ints[r, F_ASKS] = start
                ints[r, F_NASKS] = n - start
            else:
                p = _skip_value(buf, p, e)
        elif kind == K_QUOTE:
            if length == 1 and code == _K_u:
                bit = 1
                v, p = _int(buf, p, e)
                ints[r, F_B] = v
            elif length == 1 and (code in (_K_b, _K_a)):
                bit = 2 if code == _K_b else 4
                f, p = _num_str(buf, p, e, pow10)
                if f <= 0.0:
                    return n0, -1
                px[n0 + (0 if code == _K_b else 1)] = f
            elif length == 1 and (code in (_K_B, _K_A)):
                bit = 8 if code == _K_B else 16
                f, p = _num_str(buf, p, e, pow10)
                sz[n0 + (0 if code == _K_B else 1)] = f
            elif length == 1 and code == _K_E:
                bit = 32
                v, p = _int(buf, p, e)
                if p < 0 or v > _MAX_E_MS:
                    return n0, -1
                ints[r, F_TS_EVENT] = v * 1_000_000
                ints[r, F_HAS_C] = 1
            else:
                p = _skip_value(buf, p, e)
        else:  # trade
            if length == 1 and (code in (_K_t, _K_T)):
                bit = 1 if code == _K_t else 2
                v, p = _int(buf, p, e)
            elif length == 1 and (code in (_K_p, _K_q)):
                bit = 4 if code == _K_p else 8
                f, p = _num_str(buf, p, e, pow10)
                if f <= 0.0:
                    return n0, -1
            elif length == 1 and code == _K_m:
                bit = 16
                if p + 4 <= e and buf[p] == 116:  # true
                    if buf[p + 1] != 114 or buf[p + 2] != 117 or buf[p + 3] != 101:
                        return n0, -1
                    p += 4
                elif p + 5 <= e and buf[p] == 102:  # false
                    if buf[p + 1] != 97 or buf[p + 2] != 108 or buf[p + 3] != 115:
                        return n0, -1
                    if buf[p + 4] != 101:
                        return n0, -1
                    p += 5
                else:
                    return n0, -1
            else:
                p = _skip_value(buf, p, e)
        if p < 0 or seen & bit:
            return n0, -1
        seen |= bit
        if p >= e:
            return n0, -1
        c = buf[p]
        p += 1
        if c == _RBRACE:
            break
        if c != _COMMA:
            return n0, -1
    if kind == K_DEPTH:
        if seen & 55 != 55:  # E, U, u, b, a
            return n0, -1
        return n, p
    if kind == K_QUOTE:
        if seen & 31 != 31:  # u, b, a, B, A
            return n0, -1
        return n0 + 2, p
    if seen != 31:  # t, T, p, q, m
        return n0, -1
    return n0, p


@_njit
def _name_index(buf: Any, p: int, q: int, names: Any, name_len: Any, n_names: int) -> int:
    length = q - p
    for j in range(n_names):
        if name_len[j] != length:
            continue
        for i in range(length):
            if buf[p + i] != names[j, i]:
                break
        else:
            return j
    return -1


@_njit
def scan_lines(
    buf: Any,
    start: int,
    end: int,
    lineno: int,
    names: Any,
    name_len: Any,
    name_kind: Any,
    name_book: Any,
    n_names: int,
    kinds: Any,
    ints: Any,
    px: Any,
    sz: Any,
    stop_after_slow: bool = False,
) -> tuple[int, int, int]:
    """Scan the lines of ``buf[start:end]`` into records (``kinds``, ``ints``, ``px``/``sz``).

    A line ends at ``\\n`` or at ``end``. Stops early when the record or level arrays are
    full, and after the first line left to the reference reader with ``stop_after_slow``
    (it may route a new stream, that the next lines can use). Returns (records written,
    position after the last line scanned, line number of that line); line numbers count
    every line from ``lineno + 1``.
    """
    rcap = len(kinds)
    lcap = len(px)
    r = 0
    n = 0
    p = start
    envelope = _ENVELOPE
    data = _DATA
    pow10 = _POW10  # a global array is a constant of the compiled code (an argument with a
    # default would be part of the signature, which the disk cache cannot match again)
    while p < end and r < rcap:
        if r > 0 and n + 4096 > lcap:
            # The level arrays might not hold this line's levels: measure it first.
            e = p
            while e < end and buf[e] != _NL:
                e += 1
            if n + (e - p) // 8 + 2 > lcap:
                break  # it goes next time
        lineno += 1
        ok = False
        # Parsed up to ``end``: a line break inside any token or string fails the parse,
        # so a line never runs into the next one.
        q = p
        ts = 0
        while q < end and _ZERO <= buf[q] <= _NINE:
            ts = ts * 10 + (buf[q] - _ZERO)
            q += 1
        if q > p and _fits(buf, p, q) and q < end and buf[q] == _SPACE:
            q = _literal(buf, q + 1, end, envelope)
            if q > 0:
                name_start = q
                while q < end and buf[q] != _Q and buf[q] != _BSLASH and buf[q] >= _SPACE:
                    q += 1
                if q < end and buf[q] == _Q:
                    j = _name_index(buf, name_start, q, names, name_len, n_names)
                    if j >= 0:
                        q = _literal(buf, q + 1, end, data)
                        if q > 0:
                            kind = name_kind[j]
                            ints[r, F_HAS_C] = 0
                            ints[r, F_TS_EVENT] = ts
                            n2, q = _data(buf, q, end, kind, ints, r, px, sz, n, lcap, pow10)
                            if (
                                q > 0
                                and q < end
                                and buf[q] == _RBRACE
                                and (q + 1 == end or buf[q + 1] == _NL)
                            ):
                                if kind == K_QUOTE:
                                    ints[r, F_BIDS] = n
                                    ints[r, F_NBIDS] = 1
                                    ints[r, F_ASKS] = n + 1
                                    ints[r, F_NASKS] = 1
                                kinds[r] = kind
                                ints[r, F_BOOK] = name_book[j]
                                ints[r, F_TS] = ts
                                n = n2
                                ok = True
                                e = q + 1
        if not ok:
            e = p
            while e < end and buf[e] != _NL:
                e += 1
            kinds[r] = K_SLOW
            ints[r, F_A] = p
            ints[r, F_B] = e
            ints[r, F_C] = lineno
            ints[r, F_TS] = 0
            if stop_after_slow:
                r += 1
                p = e + 1
                break
        r += 1
        p = e + 1
    return r, min(p, end), lineno


# -- books and ticker checks -------------------------------------------------------------------

# Columns of FastBooks.ints.
B_STATE: Final = 0
B_PROTO: Final = 1
B_LAST_ID: Final = 2
B_LAST_TS: Final = 3
B_DELTAS: Final = 4
B_LEVELS: Final = 5
B_UID: Final = 6
B_TS_EVENT: Final = 7
B_TS_RECV: Final = 8
B_SEQ: Final = 9
B_HAS_SEQ: Final = 10
B_DIRTY: Final = 11
B_CREATED: Final = 12
T_LAST: Final = 13
T_ALIGNED: Final = 14
T_MISMATCHED: Final = 15
T_QUOTES: Final = 16
T_SAMPLES: Final = 17
T_HEAD: Final = 18
T_COUNT: Final = 19
W_HEAD: Final = 20
W_TAIL: Final = 21
W_LIVE: Final = 22
W_HASHED: Final = 23
"""1 while the waiting tickers are indexed by the ``wpos`` table; 0 (the usual case) while
their ids increase in queue order, all alive from ``W_HEAD`` to ``W_TAIL``: then the queue
is searched in place and ``wpos`` is empty."""
N_INTS: Final = 24

S_AWAITING: Final = 0
S_SYNCING: Final = 1
S_LIVE: Final = 2
S_RESYNC: Final = 3
P_SPOT: Final = 0
P_FUTURES: Final = 1
P_BYBIT: Final = 2

# Verdicts of try_delta.
APPLIED: Final = 0
ESCAPE: Final = 1
GROW: Final = 2
CROSSED: Final = 3

NONE: Final = -1.0
"""Price and size of a missing side in a recorded top."""
SAMPLES: Final = 20
"""Ticker mismatches kept per book (as TickerCheck keeps)."""


@_njit
def _home(price: float, mask: int) -> int:
    """Hash slot of a price (from its binary mantissa and exponent)."""
    if price < 1e12:  # the usual case: fixed point at 2**-20 (distinct for real ticks)
        x = np.int64(price * 1048576.0) * np.int64(-7046029254386353131)
    else:
        m, e = math.frexp(price)
        x = np.int64(m * 9007199254740992.0) * np.int64(-7046029254386353131) + np.int64(e)
    return int((x ^ (x >> 29)) & mask)


@_njit
def _find(keys: Any, price: float) -> int:
    """Slot of ``price`` in a side's table, or ``-(free slot) - 1`` when absent."""
    mask = len(keys) - 1
    i = _home(price, mask)
    while True:
        k = keys[i]
        if k == price:
            return i
        if k == 0.0:
            return -i - 1
        i = (i + 1) & mask


@_njit
def _delete(keys: Any, vals: Any, i: int) -> None:
    """Remove slot ``i`` (linear probing, backward shift: no tombstones)."""
    mask = len(keys) - 1
    j = i
    while True:
        j = (j + 1) & mask
        k = keys[j]
        if k == 0.0:
            break
        h = _home(k, mask)
        if (i <= j and i < h <= j) or (i > j and (h > i or h <= j)):
            continue
        keys[i] = k
        vals[i] = vals[j]
        i = j
    keys[i] = 0.0


@_njit
def _heap_push(heap: Any, n: int, key: float) -> int:
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= key:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = key
    return n + 1


@_njit
def _heap_pop(heap: Any, n: int) -> int:
    n -= 1
    last = heap[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= last:
            break
        heap[i] = heap[child]
        i = child
    if n > 0:
        heap[i] = last
    return n


@_njit
def rebuild_heap(keys: Any, heap: Any, sign: float) -> int:
    n = 0
    for i in range(len(keys)):
        if keys[i] != 0.0:
            n = _heap_push(heap, n, sign * keys[i])
    return n


@_njit
def _apply_side(
    keys: Any, vals: Any, heap: Any, hsize: int, sign: float, px: Any, sz: Any, start: int, n: int
) -> tuple[int, int]:
    """Set each level's size in order (size 0 removes it); returns (levels added - removed,
    heap size). A new price goes on the heap; a removed one stays there until it surfaces."""
    change = 0
    for j in range(start, start + n):
        price = px[j]
        size = sz[j]
        i = _find(keys, price)
        if size != 0.0:
            if i >= 0:
                vals[i] = size
            else:
                i = -i - 1
                keys[i] = price
                vals[i] = size
                change += 1
                hsize = _heap_push(heap, hsize, sign * price)
        elif i >= 0:
            _delete(keys, vals, i)
            change -= 1
    return change, hsize


@_njit
def _best(keys: Any, vals: Any, heap: Any, hsizes: Any, b: int, side: int) -> tuple[float, float]:
    """Best level of a side, (-1.0, -1.0) when empty; removed prices on top are popped."""
    sign = -1.0 if side == 0 else 1.0
    n = hsizes[b, side]
    while n > 0:
        price = sign * heap[0]
        i = _find(keys, price)
        if i >= 0:
            hsizes[b, side] = n
            return price, vals[i]
        n = _heap_pop(heap, n)
    hsizes[b, side] = 0
    return NONE, NONE


@_njit
def top_of(
    keys: Any, sizes: Any, heap: Any, hsizes: Any, b: int
) -> tuple[float, float, float, float]:
    """(bid price, bid size, ask price, ask size); -1.0 for a missing side."""
    bp, bs = _best(keys[b, 0], sizes[b, 0], heap[b, 0], hsizes, b, 0)
    ap, a_s = _best(keys[b, 1], sizes[b, 1], heap[b, 1], hsizes, b, 1)
    return bp, bs, ap, a_s


@_njit
def load_side(keys: Any, vals: Any, heap: Any, sign: float, prices: Any, sizes: Any) -> int:
    """Fill an empty side's table with distinct levels; returns the heap size."""
    n = 0
    for j in range(len(prices)):
        slot = -_find(keys, prices[j]) - 1
        keys[slot] = prices[j]
        vals[slot] = sizes[j]
        n = _heap_push(heap, n, sign * prices[j])
    return n


@_njit
def rehash(keys: Any, sizes: Any, new_keys: Any, new_sizes: Any) -> None:
    """Copy every table of ``keys``/``sizes`` into the larger ``new_keys``/``new_sizes``."""
    for b in range(keys.shape[0]):
        for side in range(2):
            old = keys[b, side]
            table = new_keys[b, side]
            for i in range(len(old)):
                if old[i] != 0.0:
                    slot = -_find(table, old[i]) - 1
                    table[slot] = old[i]
                    new_sizes[b, side, slot] = sizes[b, side, i]


@_njit
def try_delta(
    keys: Any,
    sizes: Any,
    counts: Any,
    heap: Any,
    hsizes: Any,
    ints: Any,
    b: int,
    first_id: int,
    update_id: int,
    prev_id: int,
    has_prev: int,
    ts_event: int,
    ts_recv: int,
    px: Any,
    sz: Any,
    bids: int,
    n_bids: int,
    asks: int,
    n_asks: int,
) -> int:
    """Apply an in-sequence delta to a live book, as its synchronizer would.

    Returns :data:`ESCAPE` (not the in-sequence live case: the synchronizer decides),
    :data:`GROW` (a side might overflow its arrays), :data:`CROSSED` (applied, then found
    crossed: the book is cleared and marked for resync) or :data:`APPLIED`.
    """
    if ints[b, B_STATE] != S_LIVE or first_id > update_id:
        return ESCAPE
    proto = ints[b, B_PROTO]
    last = ints[b, B_LAST_ID]
    if proto == P_SPOT:
        if first_id != last + 1:
            return ESCAPE
    elif proto == P_FUTURES:
        if has_prev == 0 or prev_id != last or update_id <= last:
            return ESCAPE
    else:
        return ESCAPE
    cap = keys.shape[2] >> 1  # load factor <= 1/2
    if counts[b, 0] + n_bids > cap or counts[b, 1] + n_asks > cap:
        return GROW
    for side, n in ((0, n_bids), (1, n_asks)):
        if hsizes[b, side] + n > heap.shape[2]:
            hsizes[b, side] = rebuild_heap(keys[b, side], heap[b, side], -1.0 if side == 0 else 1.0)
    change, hsizes[b, 0] = _apply_side(
        keys[b, 0], sizes[b, 0], heap[b, 0], hsizes[b, 0], -1.0, px, sz, bids, n_bids
    )
    counts[b, 0] += change
    change, hsizes[b, 1] = _apply_side(
        keys[b, 1], sizes[b, 1], heap[b, 1], hsizes[b, 1], 1.0, px, sz, asks, n_asks
    )
    counts[b, 1] += change
    ints[b, B_UID] = update_id
    ints[b, B_TS_EVENT] = ts_event
    ints[b, B_TS_RECV] = ts_recv
    ints[b, B_HAS_SEQ] = 0
    ints[b, B_DIRTY] = 1
    bp, _, ap, _ = top_of(keys, sizes, heap, hsizes, b)
    if bp != NONE and ap != NONE and bp >= ap:
        return CROSSED
    ints[b, B_LAST_ID] = update_id
    ints[b, B_LAST_TS] = ts_recv
    ints[b, B_DELTAS] += 1
    ints[b, B_LEVELS] += n_bids + n_asks
    return APPLIED


@_njit
def _ihome(key: int, mask: int) -> int:
    x = np.int64(key) * np.int64(-7046029254386353131)
    return int((x ^ (x >> 31)) & mask)


@_njit
def tget(tab: Any, b: int, key: int) -> int:
    """Slot of ``key`` in row ``b`` of an id table ``(keys, used, values)``, or -1."""
    keys, used = tab[0][b], tab[1][b]
    mask = len(keys) - 1
    i = _ihome(key, mask)
    while used[i]:
        if keys[i] == key:
            return i
        i = (i + 1) & mask
    return -1


@_njit
def _tput(tab: Any, b: int, key: int) -> int:
    """Slot of ``key`` in row ``b``, added when absent (the caller keeps it sparse)."""
    keys, used = tab[0][b], tab[1][b]
    mask = len(keys) - 1
    i = _ihome(key, mask)
    while used[i]:
        if keys[i] == key:
            return i
        i = (i + 1) & mask
    keys[i] = key
    used[i] = 1
    return i


@_njit
def _tdel(tab: Any, b: int, i: int) -> None:
    """Remove slot ``i`` of row ``b`` (linear probing, backward shift)."""
    keys, used, vals = tab[0][b], tab[1][b], tab[2][b]
    mask = len(keys) - 1
    j = i
    while True:
        j = (j + 1) & mask
        if not used[j]:
            break
        h = _ihome(keys[j], mask)
        if (i <= j and i < h <= j) or (i > j and (h > i or h <= j)):
            continue
        keys[i] = keys[j]
        for k in range(vals.shape[1]):
            vals[i, k] = vals[j, k]
        i = j
    used[i] = 0


@_njit
def _compare(
    ints: Any,
    samples: Any,
    sample_ids: Any,
    b: int,
    uid: int,
    quote: tuple[float, float, float, float],
    top: tuple[float, float, float, float],
) -> None:
    if quote == top:
        ints[b, T_ALIGNED] += 1
        return
    ints[b, T_MISMATCHED] += 1
    k = ints[b, T_SAMPLES]
    if k < samples.shape[1]:
        sample_ids[b, k] = uid
        samples[b, k, 0] = quote[0]
        samples[b, k, 1] = quote[1]
        samples[b, k, 2] = quote[2]
        samples[b, k, 3] = quote[3]
        samples[b, k, 4] = top[0]
        samples[b, k, 5] = top[1]
        samples[b, k, 6] = top[2]
        samples[b, k, 7] = top[3]
        ints[b, T_SAMPLES] = k + 1


@_njit
def ticker_on_book(
    ints: Any,
    tops: Any,
    ring: Any,
    wpos: Any,
    wids: Any,
    wvals: Any,
    walive: Any,
    samples: Any,
    sample_ids: Any,
    b: int,
    uid: int,
    top: tuple[float, float, float, float],
) -> None:
    """:meth:`TickerCheck.on_book` for book ``b`` whose top after update ``uid`` is ``top``."""
    keep = ring.shape[1]
    slot = _tput(tops, b, uid)
    tv = tops[2][b, slot]
    tv[0], tv[1], tv[2], tv[3] = top
    head = ints[b, T_HEAD]
    count = ints[b, T_COUNT]
    if count < keep:
        ring[b, (head + count) % keep] = uid
        ints[b, T_COUNT] = count + 1
    else:
        oldest = ring[b, head]
        ring[b, head] = uid
        ints[b, T_HEAD] = (head + 1) % keep
        slot = tget(tops, b, oldest)
        if slot >= 0:
            _tdel(tops, b, slot)
    if uid > ints[b, T_LAST]:
        ints[b, T_LAST] = uid
    if ints[b, W_LIVE] == 0:
        return
    if ints[b, W_HASHED] == 0:
        _sorted_on_book(ints, wids, wvals, walive, samples, sample_ids, b, uid, top)
        return
    slot = tget(wpos, b, uid)
    if slot >= 0:
        pos = int(wpos[2][b, slot, 0])
        _tdel(wpos, b, slot)
        walive[b, pos] = 0
        ints[b, W_LIVE] -= 1
        quote = (wvals[b, pos, 0], wvals[b, pos, 1], wvals[b, pos, 2], wvals[b, pos, 3])
        _compare(ints, samples, sample_ids, b, uid, quote, top)
    # Tickers for ids the book has passed can no longer align: forget them, oldest first.
    head = ints[b, W_HEAD]
    tail = ints[b, W_TAIL]
    while head < tail and ints[b, W_LIVE] > 0:
        if walive[b, head]:
            if wids[b, head] > uid:
                break
            _tdel(wpos, b, tget(wpos, b, wids[b, head]))
            walive[b, head] = 0
            ints[b, W_LIVE] -= 1
        head += 1
    if ints[b, W_LIVE] == 0:
        head = tail = 0
        ints[b, W_HASHED] = 0  # every entry left ``wpos``: back to the ordered queue
    ints[b, W_HEAD] = head
    ints[b, W_TAIL] = tail


@_njit
def _sorted_on_book(
    ints: Any,
    wids: Any,
    wvals: Any,
    walive: Any,
    samples: Any,
    sample_ids: Any,
    b: int,
    uid: int,
    top: tuple[float, float, float, float],
) -> None:
    """The waiting part of :func:`ticker_on_book` for an ordered queue: the tickers up to
    ``uid`` are its oldest ones; the one for ``uid`` (if any) is compared, all are dropped."""
    head = ints[b, W_HEAD]
    tail = ints[b, W_TAIL]
    i = head
    while i < tail and wids[b, i] < uid:
        walive[b, i] = 0
        i += 1
    if i < tail and wids[b, i] == uid:
        walive[b, i] = 0
        quote = (wvals[b, i, 0], wvals[b, i, 1], wvals[b, i, 2], wvals[b, i, 3])
        _compare(ints, samples, sample_ids, b, uid, quote, top)
        i += 1
    ints[b, W_LIVE] -= i - head
    if i == tail:
        i = tail = 0
    ints[b, W_HEAD] = i
    ints[b, W_TAIL] = tail


@_njit
def ticker_on_quote(
    ints: Any,
    tops: Any,
    wpos: Any,
    wids: Any,
    wvals: Any,
    wts: Any,
    walive: Any,
    samples: Any,
    sample_ids: Any,
    keep: int,
    b: int,
    uid: int,
    quote: tuple[float, float, float, float],
    ts_event: int,
    ts_recv: int,
) -> None:
    """:meth:`TickerCheck.on_quote` for a ticker of book ``b`` with update id ``uid``."""
    ints[b, T_QUOTES] += 1
    if uid > ints[b, T_LAST]:  # ahead of the book: wait for it
        if ints[b, W_HASHED] == 0 and _sorted_wait(
            ints, wpos, wids, wvals, wts, walive, keep, b, uid, quote, ts_event, ts_recv
        ):
            return
        slot = tget(wpos, b, uid)
        pos = -1 if slot < 0 else int(wpos[2][b, slot, 0])
        if pos < 0:
            tail = ints[b, W_TAIL]
            if tail == wids.shape[1]:
                tail = _compact(ints, wpos, wids, wvals, wts, walive, b)
            pos = tail
            wids[b, pos] = uid
            walive[b, pos] = 1
            wpos[2][b, _tput(wpos, b, uid), 0] = pos
            ints[b, W_TAIL] = tail + 1
            ints[b, W_LIVE] += 1
        wvals[b, pos, 0] = quote[0]
        wvals[b, pos, 1] = quote[1]
        wvals[b, pos, 2] = quote[2]
        wvals[b, pos, 3] = quote[3]
        wts[b, pos, 0] = ts_event
        wts[b, pos, 1] = ts_recv
        if ints[b, W_LIVE] > keep:  # drop the oldest
            head = ints[b, W_HEAD]
            while not walive[b, head]:
                head += 1
            _tdel(wpos, b, tget(wpos, b, wids[b, head]))
            walive[b, head] = 0
            ints[b, W_LIVE] -= 1
            ints[b, W_HEAD] = head + 1
        return
    slot = tget(tops, b, uid)
    if slot >= 0:
        tv = tops[2][b, slot]
        _compare(ints, samples, sample_ids, b, uid, quote, (tv[0], tv[1], tv[2], tv[3]))


@_njit
def _sorted_wait(
    ints: Any,
    wpos: Any,
    wids: Any,
    wvals: Any,
    wts: Any,
    walive: Any,
    keep: int,
    b: int,
    uid: int,
    quote: tuple[float, float, float, float],
    ts_event: int,
    ts_recv: int,
) -> bool:
    """Queue a ticker ahead of the book in an ordered queue; False when its id breaks the
    order, after moving the queue into ``wpos`` (the caller then queues it that way)."""
    head = ints[b, W_HEAD]
    tail = ints[b, W_TAIL]
    if tail > head and uid <= wids[b, tail - 1]:
        lo, hi = head, tail - 1  # the ids increase: bisect
        while lo < hi:
            mid = (lo + hi) >> 1
            if wids[b, mid] < uid:
                lo = mid + 1
            else:
                hi = mid
        if wids[b, lo] != uid:
            for i in range(head, tail):
                wpos[2][b, _tput(wpos, b, wids[b, i]), 0] = i
            ints[b, W_HASHED] = 1
            return False
        pos = lo  # a new ticker for a waiting id takes its place
    else:
        if tail == wids.shape[1]:
            tail = _compact(ints, wpos, wids, wvals, wts, walive, b)
        pos = tail
        wids[b, pos] = uid
        walive[b, pos] = 1
        ints[b, W_TAIL] = tail + 1
        ints[b, W_LIVE] += 1
        if ints[b, W_LIVE] > keep:  # drop the oldest
            walive[b, ints[b, W_HEAD]] = 0
            ints[b, W_HEAD] += 1
            ints[b, W_LIVE] -= 1
    wvals[b, pos, 0] = quote[0]
    wvals[b, pos, 1] = quote[1]
    wvals[b, pos, 2] = quote[2]
    wvals[b, pos, 3] = quote[3]
    wts[b, pos, 0] = ts_event
    wts[b, pos, 1] = ts_recv
    return True


@_njit
def _compact(ints: Any, wpos: Any, wids: Any, wvals: Any, wts: Any, walive: Any, b: int) -> int:
    """Move the live waiting tickers to the front, in order; returns the new tail."""
    out = 0
    for i in range(ints[b, W_HEAD], ints[b, W_TAIL]):
        if walive[b, i]:
            wids[b, out] = wids[b, i]
            walive[b, out] = 1
            for k in range(4):
                wvals[b, out, k] = wvals[b, i, k]
            wts[b, out, 0] = wts[b, i, 0]
            wts[b, out, 1] = wts[b, i, 1]
            if ints[b, W_HASHED]:
                wpos[2][b, tget(wpos, b, wids[b, out]), 0] = out
            out += 1
    for i in range(out, wids.shape[1]):
        walive[b, i] = 0
    ints[b, W_HEAD] = 0
    ints[b, W_TAIL] = out
    return out


# -- merge ---------------------------------------------------------------------------------

# Codes returned by the merge loop.
CODE_FINISHED: Final = 0
CODE_NEED: Final = 1
CODE_ESCAPE: Final = 2
CODE_CREATE: Final = 3
CODE_GROW: Final = 4
CODE_STALE: Final = 5
CODE_CROSSED: Final = 6


@_njit
def run(
    kinds: Any,
    recs: Any,
    px: Any,
    sz: Any,
    pos: Any,
    nrec: Any,
    done: Any,
    keys: Any,
    sizes: Any,
    counts: Any,
    heap: Any,
    hsizes: Any,
    ints: Any,
    tops: Any,
    ring: Any,
    wpos: Any,
    wids: Any,
    wvals: Any,
    wts: Any,
    walive: Any,
    samples: Any,
    sample_ids: Any,
    keep: int,
    tickers: bool,
    stale: bool,
    next_stale: int,
    tally: Any,
) -> tuple[int, int]:
    """Merge the streams' records and apply them until one needs Python.

    Returns (code, stream). ``tally[0]`` counts the events handled here.
    """
    n_streams = len(pos)
    events = 0
    while True:
        m = -1
        mt = 0
        for s in range(n_streams):
            if done[s]:
                continue
            if pos[s] >= nrec[s]:
                tally[0] += events
                return CODE_NEED, s
            t = recs[s, pos[s], F_TS]
            if m < 0 or t < mt:
                m = s
                mt = t
        if m < 0:
            tally[0] += events
            return CODE_FINISHED, -1
        # The runner-up head: the leader's burst goes on while it still sorts first.
        t2 = _INT64_MAX
        s2 = n_streams
        for s in range(n_streams):
            if s != m and not done[s]:
                t = recs[s, pos[s], F_TS]
                if t < t2:
                    t2 = t
                    s2 = s
        first = True
        while pos[m] < nrec[m]:
            i = pos[m]
            row = recs[m, i]
            t = row[F_TS]
            if not first and not (t < t2 or (t == t2 and m < s2)):
                break
            first = False
            kind = kinds[m, i]
            if kind == K_SKIP:
                pos[m] += 1
                continue
            if stale and t >= next_stale:
                tally[0] += events
                return CODE_STALE, m
            if kind == K_TRADE:
                events += 1
            elif kind == K_QUOTE:
                if tickers:
                    b = row[F_BOOK]
                    if ints[b, B_CREATED] == 0:
                        tally[0] += events
                        return CODE_CREATE, m
                    j = row[F_BIDS]
                    ticker_on_quote(
                        ints, tops, wpos, wids, wvals, wts, walive, samples, sample_ids,
                        keep, b, row[F_B], (px[m, j], sz[m, j], px[m, j + 1], sz[m, j + 1]),
                        row[F_TS_EVENT], t,
                    )  # fmt: skip
                events += 1
            elif kind == K_DEPTH:
                b = row[F_BOOK]
                if ints[b, B_CREATED] == 0:
                    tally[0] += events
                    return CODE_CREATE, m
                verdict = try_delta(
                    keys, sizes, counts, heap, hsizes, ints, b, row[F_A], row[F_B],
                    row[F_C], row[F_HAS_C], row[F_TS_EVENT], t, px[m], sz[m],
                    row[F_BIDS], row[F_NBIDS], row[F_ASKS], row[F_NASKS],
                )  # fmt: skip
                if verdict == APPLIED:
                    if tickers:
                        top = top_of(keys, sizes, heap, hsizes, b)
                        ticker_on_book(
                            ints, tops, ring, wpos, wids, wvals, walive, samples,
                            sample_ids, b, row[F_B], top,
                        )  # fmt: skip
                    events += 1
                elif verdict == GROW:
                    tally[0] += events
                    return CODE_GROW, m
                elif verdict == CROSSED:
                    tally[0] += events
                    return CODE_CROSSED, m
                else:
                    tally[0] += events
                    return CODE_ESCAPE, m
            else:
                tally[0] += events
                return CODE_ESCAPE, m
            pos[m] += 1
