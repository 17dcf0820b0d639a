"""What each feature is: name, formula, lookback and source, and the feature-set version.

This table is the documentation (``python -m feature_pipeline features`` prints it as
Markdown) and part of the version hash: editing a formula, a parameter or
:data:`FEATURE_CODE_VERSION` gives a new ``feature_set_version``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

# Bump whenever the computation in compute.py changes without a change to this table.
FEATURE_CODE_VERSION = 1

# Rows kept before the current block, and block length (see compute.py "Windows").
WARMUP_CANDLES = 384
BLOCK_CANDLES = 128
# Completed hourly closes needed by the hourly-scale moving averages (the 25th is the current close).
HOURLY_CLOSES = 24
HOUR_MS = 3_600_000
# Missing candles up to this many in a row are filled with flat, zero-volume candles;
# a longer hole restarts the warm-up, since filling it would invent a flat market.
MAX_FILLED_GAP = 120


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    formula: str
    lookback: str  # candles (or hours) of history the value needs, current one included
    source: str


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("ret_1", "ln(close_t / close_t-1)", "2 candles", "numpy"),
    FeatureSpec("ret_5", "ln(close_t / close_t-5)", "6 candles", "numpy"),
    FeatureSpec("ret_15", "ln(close_t / close_t-15)", "16 candles", "numpy"),
    FeatureSpec("ret_60", "ln(close_t / close_t-60)", "61 candles", "numpy"),
    FeatureSpec(
        "volatility_15", "population std-dev of the last 15 ret_1", "16 candles", "TA-Lib STDDEV(15, 1)"
    ),
    FeatureSpec(
        "volatility_60", "population std-dev of the last 60 ret_1", "61 candles", "TA-Lib STDDEV(60, 1)"
    ),
    FeatureSpec("sma_ratio_7_25", "SMA(close, 7) / SMA(close, 25)", "25 candles", "TA-Lib SMA"),
    FeatureSpec("sma_ratio_25_99", "SMA(close, 25) / SMA(close, 99)", "99 candles", "TA-Lib SMA"),
    FeatureSpec(
        "hourly_sma_ratio_7_25",
        "mean(last 7 of H) / mean(H), "
        "H = closes of the 24 previous UTC hours (last candle of each) + close_t",
        "24 completed hours",
        "numpy (explicit sum)",
    ),
    FeatureSpec("rsi_14", "Wilder RSI(close, 14), 0..100", "15 candles", "TA-Lib RSI"),
    FeatureSpec("macd", "EMA(close, 12) - EMA(close, 26)", "26 candles", "TA-Lib MACD(12, 26, 9)"),
    FeatureSpec("macd_signal", "EMA(macd, 9)", "34 candles", "TA-Lib MACD(12, 26, 9)"),
    FeatureSpec("macd_hist", "macd - macd_signal", "34 candles", "TA-Lib MACD(12, 26, 9)"),
    FeatureSpec(
        "bb_pct_b",
        "(close - lower) / (upper - lower), bands SMA(20) -+ 2 population std-dev; 0.5 when upper == lower",
        "20 candles",
        "TA-Lib BBANDS(20, 2, 2)",
    ),
    FeatureSpec("atr_14", "Wilder average true range, 14", "15 candles", "TA-Lib ATR"),
    FeatureSpec("natr_14", "100 * atr_14 / close", "15 candles", "TA-Lib NATR"),
    FeatureSpec(
        "volume_zscore_60",
        "(volume - SMA(volume, 60)) / STDDEV(volume, 60, 1); 0 when the std-dev is 0",
        "60 candles",
        "TA-Lib SMA, STDDEV",
    ),
    FeatureSpec(
        "taker_buy_ratio", "taker_buy_base_volume / volume; 0.5 when volume is 0", "1 candle", "numpy"
    ),
    FeatureSpec(
        "vwap_distance", "close / vwap - 1 (the candle's own VWAP); 0 when volume is 0", "1 candle", "numpy"
    ),
    FeatureSpec("body_ratio", "abs(close - open) / (high - low); 0 when high == low", "1 candle", "numpy"),
    FeatureSpec(
        "upper_wick_ratio",
        "(high - max(open, close)) / (high - low); 0 when high == low",
        "1 candle",
        "numpy",
    ),
    FeatureSpec(
        "lower_wick_ratio", "(min(open, close) - low) / (high - low); 0 when high == low", "1 candle", "numpy"
    ),
    FeatureSpec(
        "time_of_day_sin", "sin(2 pi s / 86400), s = UTC seconds of day of the open time", "1 candle", "numpy"
    ),
    FeatureSpec("time_of_day_cos", "cos(2 pi s / 86400)", "1 candle", "numpy"),
    FeatureSpec(
        "day_of_week_sin",
        "sin(2 pi d / 7), d = UTC weekday of the open time, Monday = 0",
        "1 candle",
        "numpy",
    ),
    FeatureSpec("day_of_week_cos", "cos(2 pi d / 7)", "1 candle", "numpy"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURES)

# Features in price units: their range moves with the price level, so a model fed them does not carry
# over to a symbol priced elsewhere. Every other feature is a ratio, a return, a bounded oscillator or
# a clock term: scale-free. (training excludes these from model inputs by default.)
PRICE_UNIT_FEATURES: tuple[str, ...] = ("macd", "macd_signal", "macd_hist", "atr_14")


def price_unit_inputs(feature_names: Sequence[str]) -> list[str]:
    """The inputs of a model that are in price units: empty when the model applies to any symbol."""
    return [name for name in feature_names if name in PRICE_UNIT_FEATURES]

# The longest lookback in candles (SMA 99); the hourly one is counted in hours apart.
MIN_CANDLES = 99


def _version() -> str:
    definition = {
        "code": FEATURE_CODE_VERSION,
        "features": [asdict(spec) for spec in FEATURES],
        "warmup": WARMUP_CANDLES,
        "block": BLOCK_CANDLES,
        "hourly": HOURLY_CLOSES,
        "max_filled_gap": MAX_FILLED_GAP,
        "min_candles": MIN_CANDLES,
    }
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return f"fs-{digest[:8]}"


FEATURE_SET_VERSION = _version()


def features_markdown() -> str:
    """The feature table as Markdown."""
    lines = [
        f"Feature set `{FEATURE_SET_VERSION}`",
        "",
        "| name | formula | lookback | source |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| `{s.name}` | {s.formula} | {s.lookback} | {s.source} |" for s in FEATURES]
    return "\n".join(lines)
