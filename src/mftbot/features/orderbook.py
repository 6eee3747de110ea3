"""The 50 order-book features, in batch and incremental form.

Input: books sampled on a fixed cadence with their interval aggregates
(:class:`~mftbot.features.sampling.SampledBook` for a history, one
:class:`~mftbot.features.sampling.SampleRow` at a time live). Definitions are in
:data:`ORDERBOOK_FEATURE_DOCS` (one line each, in :data:`ORDERBOOK_FEATURE_NAMES` order);
"W" is ``config.window`` samples, "S" ``config.short_window`` samples, bps are relative to
the mid of the sample.

Scale: prices enter as bps distances from the mid (VWAPs, micro price, clusters,
support/resistance), so no feature carries the price level except the two flagged in
:data:`RAW_PRICE_FEATURES` (``mid_price``, ``bid_ask_spread_abs``: price units). Sizes are
in base units, notionals in quote units.

NaN policy (no zero-filling anywhere): a feature is NaN where it is undefined — the
sample's book is missing (both best levels are needed; every book feature is then NaN),
a rolling feature's window is not yet full (the first W - 1 samples, W for features built
on mid returns) or holds a sample without a book, or a ratio's denominator is zero (no
trades, no whale trades, no lifetime ended, an order the visible book cannot fill).
Counts and volumes that are truly zero stay 0.

The batch form is vectorised over the samples (numpy; numba for the level-lifetime scan);
the incremental form (:class:`OrderBookFeatureState`) is a compiled scalar loop per sample.
They are written independently and agree to rounding (the parity test).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from mftbot.analysis import book_metrics as bm
from mftbot.analysis.microstructure import price_impact_bps
from mftbot.analysis.registry import REGISTRY, CandleArrays, Entry, Kind, Registry
from mftbot.domain.enums import Side
from mftbot.features.sampling import SampledBook, SampleRow

FloatArray: TypeAlias = npt.NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])

BPS = bm.BPS
MIN_DEPTH = 10
"""Sampled levels per side the features need (they read 5 and 10 levels)."""

_DOCS: tuple[tuple[str, str], ...] = (
    # basic (15)
    ("bid_ask_spread_abs", "best ask - best bid, price units (RAW: scales with price)"),
    ("bid_ask_spread_rel", "(best ask - best bid) / mid, bps"),
    ("mid_price", "(best bid + best ask) / 2, price units (RAW: the price level itself)"),
    ("micro_price", "size-weighted mid (b*qa + a*qb)/(qb + qa) minus mid, bps of mid"),
    ("vwap_bid_5", "mid minus the VWAP of the best 5 bid levels, bps of mid (>= 0)"),
    ("vwap_ask_5", "VWAP of the best 5 ask levels minus mid, bps of mid (>= 0)"),
    ("vwap_bid_10", "mid minus the VWAP of the best 10 bid levels, bps of mid"),
    ("vwap_ask_10", "VWAP of the best 10 ask levels minus mid, bps of mid"),
    ("depth_bid_5", "summed size of the best 5 bid levels, base units"),
    ("depth_ask_5", "summed size of the best 5 ask levels, base units"),
    ("depth_bid_10", "summed size of the best 10 bid levels, base units"),
    ("depth_ask_10", "summed size of the best 10 ask levels, base units"),
    ("total_bid_volume", "summed size of all sampled bid levels (depth N), base units"),
    ("total_ask_volume", "summed size of all sampled ask levels (depth N), base units"),
    ("book_depth_ratio", "total_bid_volume / total_ask_volume"),
    # imbalance and pressure (10)
    ("imbalance_5", "(bid - ask depth) / (bid + ask depth) over the best 5 levels, [-1, 1]"),
    ("imbalance_10", "(bid - ask depth) / (bid + ask depth) over the best 10 levels, [-1, 1]"),
    ("imbalance_total", "(bid - ask depth) / (bid + ask depth) over all N levels, [-1, 1]"),
    (
        "price_pressure",
        "10-level weighted mid (vwap_b10*ask10 + vwap_a10*bid10)/(bid10 + ask10) minus mid, bps",
    ),
    ("volume_delta_5", "taker (buy - sell) / (buy + sell) volume over the last S samples, [-1, 1]"),
    (
        "order_flow_imbalance",
        "Cont-Kukanov-Stoikov OFI summed over the book updates of the last interval, base units",
    ),
    ("bid_intensity", "bid level updates within band_bps of mid per second, over W samples"),
    ("ask_intensity", "ask level updates within band_bps of mid per second, over W samples"),
    ("buy_sell_ratio", "taker buy volume / taker sell volume over W samples"),
    (
        "smart_money_index",
        "whale (buy - sell) / (buy + sell) taker volume over W samples, [-1, 1]",
    ),
    # clusters and levels (10)
    (
        "largest_bid_cluster_price",
        "mid minus size-weighted price of the bid cluster with most size, bps",
    ),
    ("largest_bid_cluster_volume", "summed size of the bid cluster with most size, base units"),
    (
        "largest_ask_cluster_price",
        "size-weighted price of the ask cluster with most size minus mid, bps",
    ),
    ("largest_ask_cluster_volume", "summed size of the ask cluster with most size, base units"),
    (
        "num_bid_clusters",
        "bid clusters: runs of levels split where a gap > gap_factor x median gap",
    ),
    (
        "num_ask_clusters",
        "ask clusters: runs of levels split where a gap > gap_factor x median gap",
    ),
    ("support_level_1", "mid minus the price of the largest bid level (first on ties), bps"),
    ("resistance_level_1", "price of the largest ask level (first on ties) minus mid, bps"),
    ("distance_to_support", "(mid - support price) / spread, in spreads"),
    ("distance_to_resistance", "(resistance price - mid) / spread, in spreads"),
    # liquidity (8)
    ("liquidity_bid_5", "summed price x size of the best 5 bid levels, quote units"),
    ("liquidity_ask_5", "summed price x size of the best 5 ask levels, quote units"),
    (
        "liquidity_asymmetry",
        "(sell - buy impact) / (sell + buy impact) of impact_notional market orders, [-1, 1]",
    ),
    (
        "effective_spread",
        "size-weighted mean of 2|trade price - mid at arrival| / mid over W samples, bps",
    ),
    (
        "kyle_lambda",
        "OLS slope of mid log-returns (bps) on signed taker notional (per 1e6 quote), W samples",
    ),
    (
        "amihud_illiquidity",
        "mean |mid log-return| (bps) / notional (per 1e6 quote) over traded samples of W",
    ),
    (
        "roll_spread",
        "2 sqrt(-cov(dp_t, dp_t-1)) of successive trade prices in W samples, bps; cov >= 0: NaN",
    ),
    (
        "depth_imbalance_ratio",
        "(depth_bid_5 / total_bid_volume) / (depth_ask_5 / total_ask_volume)",
    ),
    # time (7)
    ("level_ttl_avg", "mean life (s) of price levels that left the top N in W samples"),
    ("level_ttl_std", "population std (s) of those level lives (needs 2)"),
    ("orderbook_volatility", "sample std of mid log-returns over W samples, bps"),
    ("update_frequency", "applied book updates per second over W samples"),
    ("quote_intensity", "best bid/offer changes per second over W samples"),
    ("trade_arrival_rate", "trades per second over W samples"),
    ("spread_volatility", "sample std of bid_ask_spread_rel over W samples, bps"),
)

ORDERBOOK_FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in _DOCS)
"""The 50 order-book feature names, in vector order."""
ORDERBOOK_FEATURE_DOCS: dict[str, str] = dict(_DOCS)
"""One-line definition of each feature."""
RAW_PRICE_FEATURES: tuple[str, ...] = ("bid_ask_spread_abs", "mid_price")
"""Features in price units (they carry the price level)."""
N_FEATURES = len(ORDERBOOK_FEATURE_NAMES)


@dataclass(frozen=True, slots=True)
class OrderBookFeatureConfig:
    """Parameters of the order-book features."""

    window: int = 60
    """W: samples in the rolling windows (60 s at a 1 s cadence)."""
    short_window: int = 5
    """S: samples for volume_delta_5."""
    impact_notional: float = 25_000.0
    """Quote notional of the market orders behind liquidity_asymmetry."""
    cluster_gap_factor: float = 2.0
    """A gap above this multiple of the median level gap starts a new cluster."""
    notional_scale: float = 1_000_000.0
    """Quote notional unit of kyle_lambda and amihud_illiquidity."""
    roll_nonnegative: bm.Nonnegative = "nan"
    """roll_spread where the covariance is >= 0: NaN (undefined, default) or 0."""

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"window must be >= 2, got {self.window}")
        if not 1 <= self.short_window <= self.window:
            raise ValueError(f"short_window must be in 1..window, got {self.short_window}")
        if self.roll_nonnegative not in ("nan", "zero"):
            raise ValueError(
                f"roll_nonnegative must be 'nan' or 'zero', got {self.roll_nonnegative!r}"
            )
        for name in ("impact_notional", "cluster_gap_factor", "notional_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and > 0, got {value}")


def _check_depth(depth: int) -> None:
    if depth < MIN_DEPTH:
        raise ValueError(f"order-book features need >= {MIN_DEPTH} levels per side, got {depth}")


# -- batch ------------------------------------------------------------------------------------


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _wsum(x: npt.NDArray[Any], window: int) -> FloatArray:
    return bm.window_sum(np.asarray(x, dtype=np.float64), window)


def orderbook_features_batch(
    sampled: SampledBook, config: OrderBookFeatureConfig | None = None
) -> FloatArray:
    """The 50 features for every sample: an ``(n, 50)`` float64 array."""
    cfg = config or OrderBookFeatureConfig()
    _check_depth(sampled.depth)
    n = len(sampled)
    out = np.full((n, N_FEATURES), np.nan)
    if n == 0:
        return out
    w, s = cfg.window, cfg.short_window
    b, a = sampled.bids, sampled.asks
    with np.errstate(invalid="ignore", divide="ignore"):
        bid0, ask0 = b[:, 0, 0], a[:, 0, 0]
        mid = (bid0 + ask0) / 2.0
        spread = ask0 - bid0
        spread_rel = spread / mid * BPS
        micro = bm.microprice(b, a)
        vb5, va5 = bm.side_vwap(b, 5), bm.side_vwap(a, 5)
        vb10, va10 = bm.side_vwap(b, 10), bm.side_vwap(a, 10)
        db5, da5 = bm.side_depth(b, 5), bm.side_depth(a, 5)
        db10, da10 = bm.side_depth(b, 10), bm.side_depth(a, 10)
        dbn, dan = bm.side_depth(b), bm.side_depth(a)
        weighted_mid = (vb10 * da10 + va10 * db10) / (db10 + da10)

        cols: list[FloatArray] = [
            spread,
            spread_rel,
            mid,
            (micro - mid) / mid * BPS,
            (mid - vb5) / mid * BPS,
            (va5 - mid) / mid * BPS,
            (mid - vb10) / mid * BPS,
            (va10 - mid) / mid * BPS,
            db5,
            da5,
            db10,
            da10,
            dbn,
            dan,
            dbn / dan,
            (db5 - da5) / (db5 + da5),
            (db10 - da10) / (db10 + da10),
            (dbn - dan) / (dbn + dan),
            (weighted_mid - mid) / mid * BPS,
        ]

        buy_s, sell_s = _wsum(sampled.buy_volume, s), _wsum(sampled.sell_volume, s)
        buy_w, sell_w = _wsum(sampled.buy_volume, w), _wsum(sampled.sell_volume, w)
        whale_b, whale_s = _wsum(sampled.whale_buy_volume, w), _wsum(sampled.whale_sell_volume, w)
        seconds = w * (sampled.cadence_ns / 1e9)
        cols += [
            _ratio(buy_s - sell_s, buy_s + sell_s),
            np.where(np.isfinite(mid), sampled.ofi, np.nan),
            _wsum(sampled.bid_level_updates, w) / seconds,
            _wsum(sampled.ask_level_updates, w) / seconds,
            _ratio(buy_w, sell_w),
            _ratio(whale_b - whale_s, whale_b + whale_s),
        ]

        gap = cfg.cluster_gap_factor
        cb, ca = bm.level_clusters(b, gap), bm.level_clusters(a, gap)
        support = _largest_level_price(b)
        resistance = _largest_level_price(a)
        cols += [
            (mid - cb.price) / mid * BPS,
            cb.volume,
            (ca.price - mid) / mid * BPS,
            ca.volume,
            cb.count,
            ca.count,
            (mid - support) / mid * BPS,
            (resistance - mid) / mid * BPS,
            (mid - support) / spread,
            (resistance - mid) / spread,
        ]

        impact_buy, _ = price_impact_bps(a, mid, cfg.impact_notional, Side.BUY)
        impact_sell, _ = price_impact_bps(b, mid, cfg.impact_notional, Side.SELL)
        ret = np.full(n, np.nan)
        ret[1:] = np.log(mid[1:] / mid[:-1]) * BPS
        scale = cfg.notional_scale
        signed = (sampled.buy_notional - sampled.sell_notional) / scale
        traded = (sampled.buy_notional + sampled.sell_notional) / scale
        pairs = _wsum(sampled.roll_pairs, w)
        sx, sy = _wsum(sampled.roll_sum_x, w), _wsum(sampled.roll_sum_y, w)
        cov = (_wsum(sampled.roll_sum_xy, w) - sx * sy / pairs) / (pairs - 1.0)
        undefined = 0.0 if cfg.roll_nonnegative == "zero" else np.nan
        roll = np.where(cov < 0, 2.0 * np.sqrt(-cov) / mid * BPS, undefined * mid)
        roll = np.where(pairs >= 2, roll, np.nan)
        cols += [
            bm.side_notional(b, 5),
            bm.side_notional(a, 5),
            (impact_sell - impact_buy) / (impact_sell + impact_buy),
            _ratio(_wsum(sampled.eff_spread_sum, w), _wsum(sampled.eff_spread_volume, w)),
            bm.kyle_lambda(ret, signed, w),
            bm.amihud_illiquidity(ret, traded, w),
            roll,
            (db5 / dbn) / (da5 / dan),
        ]

        life_b = bm.level_lifetimes(sampled.time_ns, b[:, :, 0])
        life_a = bm.level_lifetimes(sampled.time_ns, a[:, :, 0])
        lives = bm.LifetimeSums(
            life_b.total + life_a.total,
            life_b.total_sq + life_a.total_sq,
            life_b.count + life_a.count,
        )
        ttl_mean, ttl_std = bm.ttl_stats(lives, w)
        cols += [
            ttl_mean,
            ttl_std,
            bm.window_std(ret, w),
            _wsum(sampled.book_updates, w) / seconds,
            _wsum(sampled.bbo_changes, w) / seconds,
            _wsum(sampled.trade_count, w) / seconds,
            bm.window_std(spread_rel, w),
        ]
    out[:] = np.stack(cols, axis=1)
    return out


def _largest_level_price(levels: FloatArray) -> FloatArray:
    """Price of each book's largest level (first on ties); NaN for an empty side."""
    size = levels[:, :, 1]
    present = np.isfinite(levels[:, :, 0]) & np.isfinite(size)
    k = np.argmax(np.where(present, size, -np.inf), axis=1)
    price = np.take_along_axis(levels[:, :, 0], k[:, None], axis=1)[:, 0]
    return np.where(present[:, 0], price, np.nan)


# -- incremental ------------------------------------------------------------------------------


def _jit(func: _F) -> _F:
    return cast(_F, numba.njit(cache=True)(func))


# Columns of the ring of per-sample values.
_R_RET, _R_SIGNED, _R_AMI, _R_TRADED, _R_SPREAD = 0, 1, 2, 3, 4
_R_BUY, _R_SELL, _R_WBUY, _R_WSELL, _R_TRADES = 5, 6, 7, 8, 9
_R_UPD, _R_BBO, _R_BLU, _R_ALU, _R_EFFS, _R_EFFV = 10, 11, 12, 13, 14, 15
_R_PAIRS, _R_SX, _R_SY, _R_SXY, _R_TTL, _R_TTL2, _R_TTLN = 16, 17, 18, 19, 20, 21, 22
_RING_COLS = 23
# Integer inputs of a row.
_I_TIME, _I_UPD, _I_BBO, _I_BLU, _I_ALU, _I_TRADES, _I_PAIRS = 0, 1, 2, 3, 4, 5, 6
# Float inputs of a row.
_X_OFI, _X_BUY, _X_SELL, _X_BUYN, _X_SELLN, _X_WBUY, _X_WSELL = 0, 1, 2, 3, 4, 5, 6
_X_EFFS, _X_EFFV, _X_SX, _X_SY, _X_SXY = 7, 8, 9, 10, 11


@_jit
def _side_sums(levels: FloatArray, n: int) -> tuple[float, float]:  # pragma: no cover
    """(size, price x size) summed over the present levels among the first ``n``."""
    q = 0.0
    pq = 0.0
    for k in range(n):
        p = levels[k, 0]
        s = levels[k, 1]
        if np.isfinite(p) and np.isfinite(s):
            q += s
            pq += p * s
    return q, pq


@_jit
def _clusters(
    levels: FloatArray, gap_factor: float
) -> tuple[float, float, float]:  # pragma: no cover
    """(count, size-weighted price, size) of the cluster with most size."""
    depth = levels.shape[0]
    gaps = np.empty(depth - 1)
    finite = np.empty(depth - 1)
    c = 0
    for k in range(depth - 1):
        g = abs(levels[k + 1, 0] - levels[k, 0])
        gaps[k] = g
        if np.isfinite(g):
            finite[c] = g
            c += 1
    if c > 0:
        ordered = np.sort(finite[:c])
        thr = gap_factor * ((ordered[(c - 1) // 2] + ordered[c // 2]) / 2.0)
    else:
        thr = np.nan
    vol = np.zeros(depth)
    pq = np.zeros(depth)
    cid = 0
    breaks = 0.0
    for k in range(depth):
        if k > 0 and gaps[k - 1] > thr:
            cid += 1
            breaks += 1.0
        p = levels[k, 0]
        s = levels[k, 1]
        if np.isfinite(p) and np.isfinite(s):
            vol[cid] += s
            pq[cid] += p * s
        else:
            vol[cid] += 0.0
            pq[cid] += 0.0
    best = 0
    for k in range(1, depth):
        if vol[k] > vol[best]:
            best = k
    return 1.0 + breaks, pq[best] / vol[best], vol[best]


@_jit
def _largest(levels: FloatArray) -> float:  # pragma: no cover
    best = -np.inf
    price = np.nan
    for k in range(levels.shape[0]):
        p = levels[k, 0]
        s = levels[k, 1]
        if np.isfinite(p) and np.isfinite(s) and s > best:
            best = s
            price = p
    return price


@_jit
def _impact(
    levels: FloatArray, mid: float, notional: float, sign: float
) -> float:  # pragma: no cover
    """Impact (bps) of a market order walking ``levels``; NaN when they cannot fill it."""
    cn = 0.0
    cq = 0.0
    cd = 0.0
    for k in range(levels.shape[0]):
        p = levels[k, 0]
        s = levels[k, 1]
        if not (np.isfinite(p) and np.isfinite(s)):
            continue
        d = sign * (p - mid)
        if cn + p * s >= notional:
            take = (notional - cn) / p
            qty = cq + take
            dev = cd + take * d
            return float(dev / qty / mid * 1e4)
        cn += p * s
        cq += s
        cd += s * d
    return np.nan


@_jit
def _ttl_side(
    time: int, row: FloatArray, prev: FloatArray, entry: Any, censored: Any, meta: Any, side: int
) -> tuple[float, float, float]:  # pragma: no cover
    """Lifetimes ended at this sample on one side; ``meta[side]`` = (n_prev, fresh)."""
    depth = row.shape[0]
    if not np.isfinite(row[0]):
        meta[side, 0] = 0
        meta[side, 1] = 1
        return np.nan, np.nan, np.nan
    k = 0
    while k < depth and np.isfinite(row[k]):
        k += 1
    n_prev = meta[side, 0]
    s = 0.0
    s2 = 0.0
    c = 0.0
    for i in range(n_prev):
        gone = True
        for j in range(k):
            if row[j] == prev[side, i]:
                gone = False
                break
        if gone and not censored[side, i]:
            life = (time - entry[side, i]) / 1e9
            s += life
            s2 += life * life
            c += 1.0
    new_entry = np.empty(k, dtype=np.int64)
    new_censored = np.empty(k, dtype=np.bool_)
    for j in range(k):
        new_entry[j] = time
        new_censored[j] = meta[side, 1] == 1
        for i in range(n_prev):
            if prev[side, i] == row[j]:
                new_entry[j] = entry[side, i]
                new_censored[j] = censored[side, i]
                break
    for j in range(k):
        prev[side, j] = row[j]
        entry[side, j] = new_entry[j]
        censored[side, j] = new_censored[j]
    meta[side, 0] = k
    meta[side, 1] = 0
    return s, s2, c


@_jit
def _col_sum(ring: FloatArray, col: int, first: int) -> float:  # pragma: no cover
    """Sum of ``ring[first:, col]``, oldest first."""
    acc = ring[first, col]
    for j in range(first + 1, ring.shape[0]):
        acc += ring[j, col]
    return float(acc)


@_jit
def _col_std(ring: FloatArray, col: int) -> float:  # pragma: no cover
    w = ring.shape[0]
    mean = _col_sum(ring, col, 0) / w
    d = ring[0, col] - mean
    acc = d * d
    for j in range(1, w):
        d = ring[j, col] - mean
        acc += d * d
    return float(np.sqrt(acc / (w - 1)))


@_jit
def _div(num: float, den: float) -> float:  # pragma: no cover
    return num / den if den > 0 else np.nan


@_jit
def _step(
    bids: FloatArray,
    asks: FloatArray,
    xi: Any,
    xf: FloatArray,
    ring: FloatArray,
    state: FloatArray,
    ttl_prev: FloatArray,
    ttl_entry: Any,
    ttl_censored: Any,
    ttl_meta: Any,
    prm: FloatArray,
    out: FloatArray,
) -> None:  # pragma: no cover
    """One sample: update the state, write the 50 features into ``out``.

    ``state`` = (samples seen, previous mid); ``prm`` = (W, S, impact notional, cluster gap
    factor, notional scale, seconds per window, 1 when roll_spread is 0 for cov >= 0).
    """
    w = ring.shape[0]
    short = int(prm[1])
    bps = 1e4
    out[:] = np.nan
    valid = np.isfinite(bids[0, 0]) and np.isfinite(asks[0, 0])
    mid = np.nan
    spread_rel = np.nan
    if valid:
        b0 = bids[0, 0]
        a0 = asks[0, 0]
        qb0 = bids[0, 1]
        qa0 = asks[0, 1]
        mid = (b0 + a0) / 2.0
        spread = a0 - b0
        spread_rel = spread / mid * bps
        db5, pb5 = _side_sums(bids, 5)
        da5, pa5 = _side_sums(asks, 5)
        db10, pb10 = _side_sums(bids, 10)
        da10, pa10 = _side_sums(asks, 10)
        dbn, _ = _side_sums(bids, bids.shape[0])
        dan, _ = _side_sums(asks, asks.shape[0])
        vb5 = pb5 / db5
        va5 = pa5 / da5
        vb10 = pb10 / db10
        va10 = pa10 / da10
        micro = (b0 * qa0 + a0 * qb0) / (qb0 + qa0)
        out[0] = spread
        out[1] = spread_rel
        out[2] = mid
        out[3] = (micro - mid) / mid * bps
        out[4] = (mid - vb5) / mid * bps
        out[5] = (va5 - mid) / mid * bps
        out[6] = (mid - vb10) / mid * bps
        out[7] = (va10 - mid) / mid * bps
        out[8] = db5
        out[9] = da5
        out[10] = db10
        out[11] = da10
        out[12] = dbn
        out[13] = dan
        out[14] = dbn / dan
        out[15] = (db5 - da5) / (db5 + da5)
        out[16] = (db10 - da10) / (db10 + da10)
        out[17] = (dbn - dan) / (dbn + dan)
        weighted = (vb10 * da10 + va10 * db10) / (db10 + da10)
        out[18] = (weighted - mid) / mid * bps
        out[20] = xf[_X_OFI]
        nb, pcb, vcb = _clusters(bids, prm[3])
        na, pca, vca = _clusters(asks, prm[3])
        support = _largest(bids)
        resistance = _largest(asks)
        out[25] = (mid - pcb) / mid * bps
        out[26] = vcb
        out[27] = (pca - mid) / mid * bps
        out[28] = vca
        out[29] = nb
        out[30] = na
        out[31] = (mid - support) / mid * bps
        out[32] = (resistance - mid) / mid * bps
        out[33] = (mid - support) / spread
        out[34] = (resistance - mid) / spread
        out[35] = pb5
        out[36] = pa5
        ibuy = _impact(asks, mid, prm[2], 1.0)
        isell = _impact(bids, mid, prm[2], -1.0)
        out[37] = (isell - ibuy) / (isell + ibuy)
        out[42] = (db5 / dbn) / (da5 / dan)

    # per-sample values into the ring (oldest row first)
    ret = np.log(mid / state[1]) * bps
    scale = prm[4]
    signed = (xf[_X_BUYN] - xf[_X_SELLN]) / scale
    traded = (xf[_X_BUYN] + xf[_X_SELLN]) / scale
    ami = abs(ret) / traded if traded > 0 else 0.0
    if np.isnan(ret):
        ami = np.nan
    time = xi[_I_TIME]
    sb, sb2, cb = _ttl_side(time, bids[:, 0], ttl_prev, ttl_entry, ttl_censored, ttl_meta, 0)
    sa, sa2, ca = _ttl_side(time, asks[:, 0], ttl_prev, ttl_entry, ttl_censored, ttl_meta, 1)
    ring[:-1] = ring[1:]
    row = ring[w - 1]
    row[_R_RET] = ret
    row[_R_SIGNED] = signed
    row[_R_AMI] = ami
    row[_R_TRADED] = 1.0 if traded > 0 else 0.0
    row[_R_SPREAD] = spread_rel
    row[_R_BUY] = xf[_X_BUY]
    row[_R_SELL] = xf[_X_SELL]
    row[_R_WBUY] = xf[_X_WBUY]
    row[_R_WSELL] = xf[_X_WSELL]
    row[_R_TRADES] = float(xi[_I_TRADES])
    row[_R_UPD] = float(xi[_I_UPD])
    row[_R_BBO] = float(xi[_I_BBO])
    row[_R_BLU] = float(xi[_I_BLU])
    row[_R_ALU] = float(xi[_I_ALU])
    row[_R_EFFS] = xf[_X_EFFS]
    row[_R_EFFV] = xf[_X_EFFV]
    row[_R_PAIRS] = float(xi[_I_PAIRS])
    row[_R_SX] = xf[_X_SX]
    row[_R_SY] = xf[_X_SY]
    row[_R_SXY] = xf[_X_SXY]
    row[_R_TTL] = sb + sa
    row[_R_TTL2] = sb2 + sa2
    row[_R_TTLN] = cb + ca
    state[0] += 1.0
    state[1] = mid
    seen = state[0]

    if seen >= short:
        buy = _col_sum(ring, _R_BUY, w - short)
        sell = _col_sum(ring, _R_SELL, w - short)
        out[19] = _div(buy - sell, buy + sell)
    if seen < w:
        return
    seconds = prm[5]
    out[21] = _col_sum(ring, _R_BLU, 0) / seconds
    out[22] = _col_sum(ring, _R_ALU, 0) / seconds
    out[23] = _div(_col_sum(ring, _R_BUY, 0), _col_sum(ring, _R_SELL, 0))
    wb = _col_sum(ring, _R_WBUY, 0)
    ws = _col_sum(ring, _R_WSELL, 0)
    out[24] = _div(wb - ws, wb + ws)
    out[38] = _div(_col_sum(ring, _R_EFFS, 0), _col_sum(ring, _R_EFFV, 0))
    # Kyle's lambda: two-pass OLS slope of returns on signed notional
    mx = _col_sum(ring, _R_SIGNED, 0) / w
    my = _col_sum(ring, _R_RET, 0) / w
    sxy = (ring[0, _R_SIGNED] - mx) * (ring[0, _R_RET] - my)
    sxx = (ring[0, _R_SIGNED] - mx) * (ring[0, _R_SIGNED] - mx)
    sx2 = ring[0, _R_SIGNED] * ring[0, _R_SIGNED]
    for j in range(1, w):
        dx = ring[j, _R_SIGNED] - mx
        sxy += dx * (ring[j, _R_RET] - my)
        sxx += dx * dx
        sx2 += ring[j, _R_SIGNED] * ring[j, _R_SIGNED]
    if sxx > 1e-12 * sx2:
        out[39] = sxy / sxx
    out[40] = _div(_col_sum(ring, _R_AMI, 0), _col_sum(ring, _R_TRADED, 0))
    pairs = _col_sum(ring, _R_PAIRS, 0)
    if pairs >= 2:
        sx = _col_sum(ring, _R_SX, 0)
        sy = _col_sum(ring, _R_SY, 0)
        cov = (_col_sum(ring, _R_SXY, 0) - sx * sy / pairs) / (pairs - 1.0)
        if cov < 0:
            out[41] = 2.0 * np.sqrt(-cov) / mid * bps
        elif prm[6] > 0:
            out[41] = 0.0 * mid
    s1 = _col_sum(ring, _R_TTL, 0)
    s2 = _col_sum(ring, _R_TTL2, 0)
    c = _col_sum(ring, _R_TTLN, 0)
    if c > 0:
        mean = s1 / c
        out[43] = mean
        if c >= 2:
            out[44] = np.sqrt(max(s2 / c - mean * mean, 0.0))
    out[45] = _col_std(ring, _R_RET)
    out[46] = _col_sum(ring, _R_UPD, 0) / seconds
    out[47] = _col_sum(ring, _R_BBO, 0) / seconds
    out[48] = _col_sum(ring, _R_TRADES, 0) / seconds
    out[49] = _col_std(ring, _R_SPREAD)


class OrderBookFeatureState:
    """Incremental order-book features: :meth:`update` with each sample, in time order,
    returns its 50 features — what live trading has at that moment."""

    def __init__(
        self,
        *,
        depth: int = 20,
        cadence_ns: int = 1_000_000_000,
        config: OrderBookFeatureConfig | None = None,
    ) -> None:
        _check_depth(depth)
        if cadence_ns <= 0:
            raise ValueError(f"cadence_ns must be > 0, got {cadence_ns}")
        self.config = config or OrderBookFeatureConfig()
        self.depth = depth
        self.cadence_ns = cadence_ns
        cfg = self.config
        self._prm = np.array(
            [
                cfg.window,
                cfg.short_window,
                cfg.impact_notional,
                cfg.cluster_gap_factor,
                cfg.notional_scale,
                cfg.window * (cadence_ns / 1e9),
                1.0 if cfg.roll_nonnegative == "zero" else 0.0,
            ],
            dtype=np.float64,
        )
        self._xi = np.zeros(7, dtype=np.int64)
        self._xf = np.zeros(12, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget every sample seen."""
        self._ring = np.full((self.config.window, _RING_COLS), np.nan)
        self._state = np.array([0.0, np.nan])
        self._ttl_prev = np.full((2, self.depth), np.nan)
        self._ttl_entry = np.zeros((2, self.depth), dtype=np.int64)
        self._ttl_censored = np.zeros((2, self.depth), dtype=np.bool_)
        self._ttl_meta = np.array([[0, 1], [0, 1]], dtype=np.int64)
        self._last_ns: int | None = None

    def update(self, row: SampleRow) -> FloatArray:
        """The 50 features of ``row`` (a new ``(50,)`` array)."""
        bids, asks = row.bids, row.asks
        shape = (self.depth, 2)
        if bids.shape != shape or asks.shape != shape:
            raise ValueError(f"row levels must be {shape}, got {bids.shape} and {asks.shape}")
        if bids.dtype != np.float64 or asks.dtype != np.float64:
            raise ValueError("row levels must be float64")
        last = self._last_ns
        if last is not None and row.time_ns != last + self.cadence_ns:
            raise ValueError(
                f"samples must follow the {self.cadence_ns} ns cadence: {row.time_ns} after {last}"
            )
        self._last_ns = row.time_ns
        xi = self._xi
        xi[:] = (
            row.time_ns,
            row.book_updates,
            row.bbo_changes,
            row.bid_level_updates,
            row.ask_level_updates,
            row.trade_count,
            row.roll_pairs,
        )
        xf = self._xf
        xf[:] = (
            row.ofi,
            row.buy_volume,
            row.sell_volume,
            row.buy_notional,
            row.sell_notional,
            row.whale_buy_volume,
            row.whale_sell_volume,
            row.eff_spread_sum,
            row.eff_spread_volume,
            row.roll_sum_x,
            row.roll_sum_y,
            row.roll_sum_xy,
        )
        out = np.empty(N_FEATURES)
        _step(
            bids,
            asks,
            xi,
            xf,
            self._ring,
            self._state,
            self._ttl_prev,
            self._ttl_entry,
            self._ttl_censored,
            self._ttl_meta,
            self._prm,
            out,
        )
        return out


# -- registry ---------------------------------------------------------------------------------

_CADENCE = "cadence_ns"


def sampled_candles(sampled: SampledBook) -> CandleArrays:
    """The samples as :class:`CandleArrays` for the registry and the look-ahead checker:
    every price column is the mid, volume the taker volume, and every sampled array rides in
    ``extra`` (truncated with the candles)."""
    mid = (sampled.bids[:, 0, 0] + sampled.asks[:, 0, 0]) / 2.0
    extra: dict[str, npt.NDArray[Any]] = dict(sampled.columns())
    extra[_CADENCE] = np.full(len(sampled), sampled.cadence_ns, dtype=np.int64)
    return CandleArrays.from_arrays(
        open=mid,
        high=mid,
        low=mid,
        close=mid,
        volume=sampled.buy_volume + sampled.sell_volume,
        time_ns=sampled.time_ns,
        extra=extra,
    )


def register_orderbook_features(
    registry: Registry | None = None,
    config: OrderBookFeatureConfig | None = None,
    *,
    name: str = "orderbook",
) -> Entry:
    """Register the batch features (kind ``feature``) into ``registry`` (default: the global
    one). The entry reads the sampled arrays from ``CandleArrays.extra``
    (:func:`sampled_candles`), so it is not registered on import: plain candles carry none.
    """
    cfg = config or OrderBookFeatureConfig()
    reg = REGISTRY if registry is None else registry

    def compute(candles: CandleArrays) -> dict[str, FloatArray]:
        extra = candles.extra
        if _CADENCE not in extra:
            raise ValueError(f"{name}: candles carry no sampled book (see sampled_candles)")
        cadence = int(extra[_CADENCE][0]) if len(candles) else 1
        sampled = SampledBook.from_columns("", "", cadence, extra)
        values = orderbook_features_batch(sampled, cfg)
        return {feature: values[:, i] for i, feature in enumerate(ORDERBOOK_FEATURE_NAMES)}

    return reg.register(
        name,
        compute,
        outputs=ORDERBOOK_FEATURE_NAMES,
        kind=Kind.FEATURE,
        warmup=cfg.window,
        description="the 50 order-book features over books sampled on a fixed cadence",
        params={
            "window": cfg.window,
            "short_window": cfg.short_window,
            "impact_notional": cfg.impact_notional,
            "cluster_gap_factor": cfg.cluster_gap_factor,
            "notional_scale": cfg.notional_scale,
            "roll_nonnegative": cfg.roll_nonnegative,
        },
    )
