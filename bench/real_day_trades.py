"""A real day of BTCUSDT for the end-to-end bench: the exchange's 1-minute klines, and trades rebuilt from them.

No real full day of raw trades is available offline, but real klines are, and a kline says a lot about its
minute: how many trades, the first and last price, the range, the base volume and how much of it taker buyers
bought. :func:`reconstruct_trades` rebuilds, per minute, exactly ``count`` trades that agree with all of it;
what the kline does not say is invented (seeded, so the same day gives the same trades): the prices between
the first and the last, each trade's size and side, its time inside the minute. The quote volume is not
matched (it follows from the invented prices and sizes). :func:`kline_mismatches` checks the claim on every
minute by aggregating the trades exactly as the exchange does; :func:`candle_builder_mismatches` checks it
again on a sample of minutes through the candle builder's own batch aggregation.

Prices are integers in cents and quantities integers in lots (1e-5 BTC, the exchange's step for BTCUSDT when
every volume of the day is a whole number of lots; 1e-8 otherwise), so sums are exact and
``quote_qty = price x qty`` exactly, as in the exchange's files.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt

MINUTE_MS = 60_000
PRICE_DECIMALS = 2  # BTCUSDT tick: 0.01
KLINE_DIR = Path("binance/spot/daily/klines/{symbol}/1m")


@dataclass(frozen=True)
class Kline:
    """One row of a Binance 1-minute kline dump, prices in cents and volumes in ``lot`` units."""

    open_time_ms: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    trade_count: int
    taker_buy_volume: int


@dataclass(frozen=True)
class KlineDay:
    symbol: str
    date: str
    lot_decimals: int  # quantities are integers of 10**-lot_decimals
    klines: list[Kline]

    @property
    def trade_count(self) -> int:
        return sum(kline.trade_count for kline in self.klines)


@dataclass(frozen=True)
class TradeArrays:
    """Trades in the columns of a Binance trades dump; price in cents, quantity in lots."""

    trade_id: npt.NDArray[np.int64]
    price: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int64]
    time_ms: npt.NDArray[np.int64]
    is_buyer_maker: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.trade_id)


def kline_files(data_dir: Path, symbol: str) -> dict[str, Path]:
    """Date -> zipped kline dump file, for every day in ``data_dir`` (the dump layout)."""
    folder = data_dir / str(KLINE_DIR).format(symbol=symbol)
    return {path.stem.removeprefix(f"{symbol}-1m-"): path for path in sorted(folder.glob(f"{symbol}-1m-*.zip"))}


def _kline_rows(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as archive:
        (member,) = [name for name in archive.namelist() if name.endswith(".csv")]
        text = archive.read(member).decode()
    return [line.split(",") for line in text.splitlines() if line and line[0].isdigit()]


def busiest_day(data_dir: Path, symbol: str) -> str:
    """The date with the most trades among the kline files."""
    counts = {date: sum(int(row[8]) for row in _kline_rows(path))
              for date, path in kline_files(data_dir, symbol).items()}
    return max(counts, key=lambda date: counts[date])


def read_day(data_dir: Path, symbol: str, date: str) -> KlineDay:
    path = kline_files(data_dir, symbol).get(date)
    if path is None:
        raise FileNotFoundError(f"no {symbol} 1m kline file for {date} under {data_dir}")
    rows = _kline_rows(path)
    volumes = [Decimal(value) for row in rows for value in (row[5], row[9])]
    lot_decimals = 5 if all((volume * 10**5) % 1 == 0 for volume in volumes) else 8
    cents, lots = Decimal(10) ** PRICE_DECIMALS, Decimal(10) ** lot_decimals

    def integer(text: str, scale: Decimal) -> int:
        value = Decimal(text) * scale
        if value % 1:
            raise ValueError(f"{path.name}: {text} is not a whole number of 1/{scale}")
        return int(value)

    klines = [Kline(open_time_ms=int(row[0]), open=integer(row[1], cents), high=integer(row[2], cents),
                    low=integer(row[3], cents), close=integer(row[4], cents), volume=integer(row[5], lots),
                    trade_count=int(row[8]), taker_buy_volume=integer(row[9], lots))
              for row in rows]
    return KlineDay(symbol=symbol, date=date, lot_decimals=lot_decimals, klines=klines)


def _split(total: int, parts: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``total`` as ``parts`` positive integers (heavy-tailed, like trade sizes) summing exactly to it."""
    if parts == 0:
        return np.zeros(0, dtype=np.int64)
    weights = rng.lognormal(0.0, 1.5, parts)
    spare = total - parts  # every part gets one unit first
    shares = np.floor(weights / weights.sum() * spare).astype(np.int64)
    leftover = spare - int(shares.sum())
    shares[rng.choice(parts, leftover, replace=False)] += 1
    return shares + 1


def _prices(kline: Kline, count: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``count`` prices from open to close, inside [low, high], touching both."""
    if count == 1:
        return np.array([kline.open], dtype=np.int64)
    # A random walk pinned to open and close (a Brownian bridge), sized to the minute's range, then clipped.
    steps = np.cumsum(rng.standard_normal(count))
    bridge = steps - np.linspace(0, 1, count) * steps[-1] - steps[0] * np.linspace(1, 0, count)
    spread = float(np.ptp(bridge)) or 1.0
    path = np.linspace(kline.open, kline.close, count) + bridge / spread * (kline.high - kline.low)
    prices = np.clip(np.rint(path), kline.low, kline.high).astype(np.int64)
    prices[0], prices[-1] = kline.open, kline.close
    missing = [price for price in (kline.high, kline.low) if price not in (kline.open, kline.close)]
    if missing:
        if count - 2 < len(missing):
            raise ValueError(f"minute {kline.open_time_ms}: {count} trades cannot touch open, close, high and low")
        where = rng.choice(np.arange(1, count - 1), len(missing), replace=False)
        prices[where] = missing
    return prices


def reconstruct_trades(klines: Sequence[Kline], first_id: int = 1, seed: int = 0) -> TradeArrays:
    """Trades whose 1-minute candles are exactly ``klines``: same count, open, high, low, close, base volume
    and taker-buy base volume per minute. Timestamps are sorted inside each minute, ids consecutive."""
    rng = np.random.default_rng(seed)
    prices, quantities, times, makers = [], [], [], []
    for kline in klines:
        count = kline.trade_count
        if count == 0:
            continue
        sell_volume = kline.volume - kline.taker_buy_volume
        # How many trades were taker buys: in proportion to the volume, at least one unit of volume each.
        low = max(1 if kline.taker_buy_volume else 0, count - sell_volume)
        high = min(count - (1 if sell_volume else 0), kline.taker_buy_volume)
        if low > high:
            raise ValueError(f"minute {kline.open_time_ms}: volumes cannot be split over {count} trades")
        buys = min(max(round(count * kline.taker_buy_volume / kline.volume) if kline.volume else 0, low), high)
        is_buy = np.zeros(count, dtype=bool)
        is_buy[rng.choice(count, buys, replace=False)] = True
        quantity = np.empty(count, dtype=np.int64)
        quantity[is_buy] = _split(kline.taker_buy_volume, buys, rng)
        quantity[~is_buy] = _split(sell_volume, count - buys, rng)
        prices.append(_prices(kline, count, rng))
        quantities.append(quantity)
        times.append(np.sort(rng.integers(kline.open_time_ms, kline.open_time_ms + MINUTE_MS, count)))
        makers.append(~is_buy)  # a taker buy is a trade whose buyer is not the maker
    total = sum(len(block) for block in prices)
    return TradeArrays(trade_id=np.arange(first_id, first_id + total, dtype=np.int64),
                       price=np.concatenate(prices), quantity=np.concatenate(quantities),
                       time_ms=np.concatenate(times), is_buyer_maker=np.concatenate(makers))


def _decimal_text(values: npt.NDArray[np.int64], decimals: int) -> list[str]:
    """Integers of 10**-decimals as the dump's 8-decimal text."""
    scale = 10**decimals
    pad = 8 - decimals
    return [f"{value // scale}.{value % scale:0{decimals}d}{'0' * pad}" for value in values.tolist()]


def write_trades_csv(trades: TradeArrays, lot_decimals: int, path: Path, chunk: int = 500_000) -> None:
    """Binance trades dump layout: ``id,price,qty,quote_qty,time,is_buyer_maker,is_best_match``, no header."""
    quote_decimals = PRICE_DECIMALS + lot_decimals
    if quote_decimals > 8:
        raise ValueError("quote_qty would need more than the dump's 8 decimals")
    with path.open("w", encoding="ascii", newline="\n") as out:
        for start in range(0, len(trades), chunk):
            rows = slice(start, start + chunk)
            price = trades.price[rows]
            quantity = trades.quantity[rows]
            lines = zip(trades.trade_id[rows].tolist(), _decimal_text(price, PRICE_DECIMALS),
                        _decimal_text(quantity, lot_decimals), _decimal_text(price * quantity, quote_decimals),
                        trades.time_ms[rows].tolist(), trades.is_buyer_maker[rows].tolist(), strict=True)
            buffer = io.StringIO()
            for trade_id, price_text, quantity_text, quote_text, time_ms, maker in lines:
                buffer.write(f"{trade_id},{price_text},{quantity_text},{quote_text},{time_ms},{maker},True\n")
            out.write(buffer.getvalue())


def kline_mismatches(day: KlineDay, trades: TradeArrays, limit: int = 5) -> list[str]:
    """How the exchange's klines of ``trades`` (aggregated here, exactly, on the integer columns) differ from
    the day's real klines: empty when every minute's OHLC, base and taker-buy volume and trade count match."""
    minute = trades.time_ms - trades.time_ms % MINUTE_MS
    starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
    ends = np.r_[starts[1:], len(trades)] - 1
    taker_buy = np.where(trades.is_buyer_maker, 0, trades.quantity)
    built = {int(minute[start]): Kline(
        open_time_ms=int(minute[start]), open=int(trades.price[start]), high=int(high), low=int(low),
        close=int(trades.price[end]), volume=int(volume), trade_count=int(end - start + 1),
        taker_buy_volume=int(buy))
        for start, end, high, low, volume, buy in zip(
            starts, ends, np.maximum.reduceat(trades.price, starts), np.minimum.reduceat(trades.price, starts),
            np.add.reduceat(trades.quantity, starts), np.add.reduceat(taker_buy, starts), strict=True)}
    problems = ["ids are not consecutive"] if np.any(np.diff(trades.trade_id) != 1) else []
    if np.any(np.diff(trades.time_ms) < 0):
        problems.append("timestamps go back")
    real = {kline.open_time_ms: kline for kline in day.klines if kline.trade_count}
    for open_time in sorted(real.keys() | built.keys()):
        if real.get(open_time) != built.get(open_time):
            problems.append(f"minute {open_time}: built {built.get(open_time)} != real {real.get(open_time)}")
        if len(problems) >= limit:
            break
    return problems


def candle_builder_mismatches(day: KlineDay, trades: TradeArrays, minutes: int, limit: int = 5) -> list[str]:
    """The same check through the candle builder's own batch aggregation
    (``candle_builder.aggregate.build_candles``), on ``minutes`` minutes spread over the day (a full day of
    millions of trades through it takes minutes on a small machine)."""
    from candle_builder.aggregate import build_candles
    from tickcast.contracts import Trade

    cents, lot = 10.0**PRICE_DECIMALS, 10.0**day.lot_decimals
    busy = [kline for kline in day.klines if kline.trade_count]
    chosen = {busy[index].open_time_ms: busy[index]
              for index in np.linspace(0, len(busy) - 1, min(minutes, len(busy))).astype(int)}
    rows = np.flatnonzero(np.isin(trades.time_ms - trades.time_ms % MINUTE_MS, list(chosen)))
    batch = [Trade(symbol=day.symbol, trade_id=trade_id, price=price / cents, quantity=quantity / lot,
                   quote_quantity=price * quantity / (cents * lot), timestamp_ms=time_ms, is_buyer_maker=maker,
                   source="replay")
             for trade_id, price, quantity, time_ms, maker in zip(
                 trades.trade_id[rows].tolist(), trades.price[rows].tolist(), trades.quantity[rows].tolist(),
                 trades.time_ms[rows].tolist(), trades.is_buyer_maker[rows].tolist(), strict=True)]
    candles = {candle.open_time_ms: candle for candle in build_candles(batch, "1m") if not candle.is_gap_fill}
    problems: list[str] = []
    for open_time, kline in chosen.items():
        candle = candles.get(open_time)
        if candle is None:
            problems.append(f"minute {open_time}: no candle")
            continue
        expected = {"open": kline.open / cents, "high": kline.high / cents, "low": kline.low / cents,
                    "close": kline.close / cents, "trade_count": kline.trade_count}
        got = {name: getattr(candle, name) for name in expected}
        if got != expected:
            problems.append(f"minute {open_time}: {got} != {expected}")
        for name, want in (("volume", kline.volume), ("taker_buy_base_volume", kline.taker_buy_volume)):
            if not math.isclose(getattr(candle, name), want / lot, rel_tol=1e-12, abs_tol=1e-9):
                problems.append(f"minute {open_time}: {name} {getattr(candle, name)} != {want / lot}")
        if len(problems) >= limit:
            break
    return problems
