"""The running aggregate of one candle window: pure arithmetic, no I/O.

Field meanings follow the exchange's klines exactly: open and close are the
first and last trades in event order (exchange timestamp, then trade id, so the
arrival order does not matter), volumes are sums of quantities, ``quote_volume``
is the sum of the trades' own quote quantities, taker-buy sums cover trades
whose buyer was not the maker, and ``trade_count`` counts exchange trades (an
aggregate trade stands for ``last_trade_id - first_trade_id + 1`` of them).

The candle's ``source`` is that of its trades; a window mixing sources (never
expected within one symbol) is labelled with the least trustworthy of them
(synthetic wins, see ``tickcast.contracts.least_trusted``), so a label never
claims more than its worst input.

Sums use Neumaier's compensated summation: a running total plus the rounding
error it has lost so far. Its error does not grow with the number of trades,
so a window of thousands of 8-decimal quantities still equals the exchange's
decimal total to ~1e-16 relative, and it stays incremental (unlike ``fsum``).
"""

from __future__ import annotations

from typing import Any

from tickcast.contracts import Candle, DataSource, Trade, data_source_of_trade, least_trusted
from tickcast.intervals import interval_ms

# Position of a trade in event time: exchange timestamp, then trade id.
OrderKey = tuple[int, int]

# Number of values in a serialised accumulator (see ``to_list``): the numeric slots, then the source.
# State written before the source existed has one value less and restores as "unknown".
_NUMERIC_WIDTH = 19
_STATE_WIDTH = _NUMERIC_WIDTH + 1


def _compensated_add(total: float, compensation: float, value: float) -> tuple[float, float]:
    """Add ``value`` to a Neumaier pair (total, lost low-order part)."""
    new_total = total + value
    if abs(total) >= abs(value):
        compensation += (total - new_total) + value
    else:
        compensation += (value - new_total) + total
    return new_total, compensation


class CandleAccumulator:
    """Everything needed to produce one candle, updated one trade at a time."""

    __slots__ = (
        "close",
        "close_id",
        "close_ts",
        "first_trade_id",
        "high",
        "last_trade_id",
        "low",
        "open",
        "open_id",
        "open_ts",
        "quote_volume",
        "quote_volume_c",
        "source",
        "taker_base",
        "taker_base_c",
        "taker_quote",
        "taker_quote_c",
        "trade_count",
        "volume",
        "volume_c",
    )

    def __init__(self) -> None:
        self.open_ts = self.close_ts = 0
        self.open_id = self.close_id = 0
        self.open = self.close = self.high = self.low = 0.0
        self.volume = self.volume_c = 0.0
        self.quote_volume = self.quote_volume_c = 0.0
        self.taker_base = self.taker_base_c = 0.0
        self.taker_quote = self.taker_quote_c = 0.0
        self.trade_count = 0
        self.first_trade_id = self.last_trade_id = 0
        self.source: DataSource = "unknown"

    @property
    def empty(self) -> bool:
        return self.trade_count == 0

    def add(self, trade: Trade) -> None:
        """Fold one trade in; trades may come in any order."""
        ts = trade.timestamp_ms
        trade_id = trade.trade_id
        price = trade.price
        quantity = trade.quantity
        quote = trade.quote_quantity
        first_id = trade.first_trade_id
        last_id = trade.last_trade_id
        if first_id is None or last_id is None:
            first_id = last_id = trade_id
        if self.trade_count == 0:
            self.open_ts = self.close_ts = ts
            self.open_id = self.close_id = trade_id
            self.open = self.close = self.high = self.low = price
            self.first_trade_id = first_id
            self.last_trade_id = last_id
            self.source = data_source_of_trade(trade.source)
        else:
            source = data_source_of_trade(trade.source)
            if source != self.source:
                self.source = least_trusted(self.source, source)
            # (ts, trade_id) ordering, without building tuples on the hot path.
            if ts < self.open_ts or (ts == self.open_ts and trade_id < self.open_id):
                self.open_ts, self.open_id, self.open = ts, trade_id, price
                self.first_trade_id = first_id
            if ts > self.close_ts or (ts == self.close_ts and trade_id > self.close_id):
                self.close_ts, self.close_id, self.close = ts, trade_id, price
                self.last_trade_id = last_id
            self.high = max(self.high, price)
            self.low = min(self.low, price)
        self.trade_count += last_id - first_id + 1
        # Compensated sums, written out: this runs once per trade.
        total = self.volume
        new_total = total + quantity
        self.volume_c += (
            (total - new_total) + quantity if total >= quantity else (quantity - new_total) + total
        )
        self.volume = new_total
        total = self.quote_volume
        new_total = total + quote
        self.quote_volume_c += (total - new_total) + quote if total >= quote else (quote - new_total) + total
        self.quote_volume = new_total
        if not trade.is_buyer_maker:
            total = self.taker_base
            new_total = total + quantity
            self.taker_base_c += (
                (total - new_total) + quantity if total >= quantity else (quantity - new_total) + total
            )
            self.taker_base = new_total
            total = self.taker_quote
            new_total = total + quote
            self.taker_quote_c += (
                (total - new_total) + quote if total >= quote else (quote - new_total) + total
            )
            self.taker_quote = new_total

    def merge(self, other: CandleAccumulator) -> None:
        """Fold another window's aggregate in (used to roll small windows into larger ones)."""
        if other.trade_count == 0:
            return
        if self.trade_count == 0:
            for name in self.__slots__:
                setattr(self, name, getattr(other, name))
            return
        if (other.open_ts, other.open_id) < (self.open_ts, self.open_id):
            self.open_ts, self.open_id, self.open = other.open_ts, other.open_id, other.open
            self.first_trade_id = other.first_trade_id
        if (other.close_ts, other.close_id) > (self.close_ts, self.close_id):
            self.close_ts, self.close_id, self.close = other.close_ts, other.close_id, other.close
            self.last_trade_id = other.last_trade_id
        self.high = max(self.high, other.high)
        self.low = min(self.low, other.low)
        self.source = least_trusted(self.source, other.source)
        self.trade_count += other.trade_count
        for total, compensation in (
            ("volume", "volume_c"),
            ("quote_volume", "quote_volume_c"),
            ("taker_base", "taker_base_c"),
            ("taker_quote", "taker_quote_c"),
        ):
            value, lost = getattr(self, total), getattr(self, compensation)
            value, lost = _compensated_add(value, lost, getattr(other, total))
            value, lost = _compensated_add(value, lost, getattr(other, compensation))
            setattr(self, total, value)
            setattr(self, compensation, lost)

    def to_candle(self, symbol: str, interval: str, open_time_ms: int) -> Candle:
        """The finished candle of window ``open_time_ms`` (must hold at least one trade)."""
        if self.trade_count == 0:
            raise ValueError("an empty window has no candle of its own; use gap_fill_candle")
        volume = self.volume + self.volume_c
        quote_volume = self.quote_volume + self.quote_volume_c
        # A window of trades with only dust quantities could sum to 0; fall back to the close.
        vwap = quote_volume / volume if volume > 0 and quote_volume > 0 else self.close
        return Candle(
            symbol=symbol,
            interval=interval,
            open_time_ms=open_time_ms,
            close_time_ms=open_time_ms + interval_ms(interval) - 1,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=volume,
            quote_volume=quote_volume,
            trade_count=self.trade_count,
            taker_buy_base_volume=self.taker_base + self.taker_base_c,
            taker_buy_quote_volume=self.taker_quote + self.taker_quote_c,
            vwap=vwap,
            first_trade_id=self.first_trade_id,
            last_trade_id=self.last_trade_id,
            source=self.source,
        )

    def to_list(self) -> list[Any]:
        """Compact JSON-able form for the state store."""
        return [*(getattr(self, name) for name in _NUMERIC_SLOTS), self.source]

    @classmethod
    def from_list(cls, values: list[Any]) -> CandleAccumulator:
        if len(values) not in (_NUMERIC_WIDTH, _STATE_WIDTH):
            raise ValueError(f"stored accumulator has {len(values)} values, expected {_STATE_WIDTH}")
        accumulator = cls()
        for name, value in zip(_NUMERIC_SLOTS, values[:_NUMERIC_WIDTH], strict=True):
            setattr(accumulator, name, value)
        if len(values) == _STATE_WIDTH:
            accumulator.source = values[_NUMERIC_WIDTH]
        return accumulator

    def copy(self) -> CandleAccumulator:
        return CandleAccumulator.from_list(self.to_list())


# The stored order of the numeric values: the slots as they were before ``source`` was added.
_NUMERIC_SLOTS = tuple(name for name in CandleAccumulator.__slots__ if name != "source")


def gap_fill_candle(
    symbol: str, interval: str, open_time_ms: int, previous_close: float, source: DataSource = "unknown"
) -> Candle:
    """A window without trades: flat at the previous close, no volume, as the exchange publishes it.

    ``source`` is the previous candle's: the flat price is still that source's price.
    """
    return Candle(
        symbol=symbol,
        interval=interval,
        open_time_ms=open_time_ms,
        close_time_ms=open_time_ms + interval_ms(interval) - 1,
        open=previous_close,
        high=previous_close,
        low=previous_close,
        close=previous_close,
        volume=0.0,
        quote_volume=0.0,
        trade_count=0,
        taker_buy_base_volume=0.0,
        taker_buy_quote_volume=0.0,
        vwap=previous_close,
        is_gap_fill=True,
        source=source,
    )
