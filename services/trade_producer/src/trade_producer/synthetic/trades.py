"""Seeded, reproducible fake trades with the shape of a real market, for offline demos only.

Not prices: every trade is labelled ``source="synthetic"``. The shape comes from
three small models, each chosen for one stylised fact of trade data:

* volatility clustering: per-trade log returns follow GARCH(1,1);
* bursty arrivals: a self-exciting (Hawkes) process, each trade raising the
  near-term intensity;
* buy/sell imbalance: the taker side follows a persistent latent order-flow
  signal, and each trade pushes the price a little in its direction.

A *thinned history* (``history_share`` below 1) makes the trades before a moment (the feed's
start on the wall clock) that share as frequent and each larger: the same market on a slower
clock (arrival rate and its decay scaled together, so bursts keep their shape), with each trade's
volatility and size raised so that a minute's volatility and volume stay what they are. A stack's
day of history then takes a fraction of the work to turn into candles and features.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

from trade_producer.columns import TradeColumns

TICK = 0.01
LOT = 0.00001


@dataclass(frozen=True)
class MarketShape:
    base_intensity_per_s: float = 4.0  # Hawkes background rate
    excitation: float = 30.0  # intensity added by each trade
    excitation_decay_per_s: float = 40.0  # branching ratio excitation/decay < 1 keeps it stationary
    garch_alpha: float = 0.06
    garch_beta: float = 0.93
    per_trade_volatility: float = 1.2e-4  # unconditional std of one trade's log return
    flow_persistence: float = 0.985  # AR(1) coefficient of the latent order flow
    flow_noise: float = 0.12
    impact: float = 0.25  # share of a trade's volatility moved in its direction
    median_quantity: float = 0.01
    quantity_dispersion: float = 1.4

    def thinned(self, share: float) -> MarketShape:
        """``share`` times the trades, each larger: per-minute volatility and volume stay in expectation."""
        if not 0 < share <= 1:
            raise ValueError(f"history share must be in (0, 1], got {share}")
        return replace(
            self,
            base_intensity_per_s=self.base_intensity_per_s * share,
            excitation=self.excitation * share,  # with the decay: a Hawkes process on a clock 1/share slower
            excitation_decay_per_s=self.excitation_decay_per_s * share,
            per_trade_volatility=self.per_trade_volatility / math.sqrt(share),
            median_quantity=self.median_quantity / share,
        )


class SyntheticTrades:
    """An endless, deterministic trade sequence for one symbol (same seed, same trades)."""

    def __init__(
        self,
        symbol: str,
        seed: int,
        start_ms: int,
        start_price: float,
        first_trade_id: int = 1,
        shape: MarketShape | None = None,
        history_share: float = 1.0,
        history_until_ms: int | None = None,
    ) -> None:
        """``history_share`` < 1: trades before ``history_until_ms`` come from the thinned shape."""
        self.symbol = symbol
        self._shape = shape or MarketShape()
        self._history_shape = self._shape.thinned(history_share) if history_share < 1 else self._shape
        self._history_until_s = (history_until_ms or 0) / 1000.0 if history_share < 1 else 0.0
        # One seed per (seed, symbol): adding a symbol does not change the others. One
        # generator per random input: the sequence is the same whatever the block sizes.
        # A feed resumed after its last trade on the topic draws fresh numbers, not the first run's again.
        entropy = [seed, zlib.crc32(symbol.encode())] + ([first_trade_id] if first_trade_id != 1 else [])
        streams = np.random.SeedSequence(entropy).spawn(5)
        self._arrivals, self._flow_noise, self._sides, self._shocks, self._sizes = (
            np.random.default_rng(stream) for stream in streams
        )
        self._time_s = start_ms / 1000.0
        self._price = start_price
        self._next_id = first_trade_id
        self._excitation = 0.0
        self._variance = self._shape_at(self._time_s).per_trade_volatility**2
        self._flow = 0.0

    def _shape_at(self, time_s: float) -> MarketShape:
        return self._history_shape if time_s < self._history_until_s else self._shape

    def next_block(self, size: int) -> TradeColumns:
        arrivals = self._arrivals.random(size)
        flow_noise = self._flow_noise.standard_normal(size)
        sides = self._sides.random(size)
        shocks = self._shocks.standard_normal(size)
        sizes = self._sizes.standard_normal(size)
        times = np.empty(size, dtype=np.int64)
        prices = np.empty(size)
        taker_sold = np.empty(size, dtype=bool)
        quantity_scale = np.empty(size)
        for i in range(size):
            shape = self._shape_at(self._time_s)
            omega = shape.per_trade_volatility**2 * (1 - shape.garch_alpha - shape.garch_beta)
            # Hawkes arrival by inversion: wait until the decaying intensity's integral reaches Exp(1).
            wait = self._hawkes_wait(shape, -math.log(1.0 - arrivals[i]))
            self._time_s += wait
            self._excitation = (
                self._excitation * math.exp(-shape.excitation_decay_per_s * wait) + shape.excitation
            )
            self._flow = shape.flow_persistence * self._flow + shape.flow_noise * flow_noise[i]
            buy = sides[i] < 1.0 / (1.0 + math.exp(-self._flow))
            volatility = math.sqrt(self._variance)
            log_return = volatility * (shocks[i] + (shape.impact if buy else -shape.impact))
            self._variance = omega + shape.garch_alpha * log_return**2 + shape.garch_beta * self._variance
            self._price = max(TICK, round(self._price * math.exp(log_return) / TICK) * TICK)
            times[i] = int(self._time_s * 1000)
            prices[i] = round(self._price, 2)
            taker_sold[i] = not buy
            quantity_scale[i] = shape.median_quantity
        quantities = np.maximum(
            LOT, np.round(quantity_scale * np.exp(self._shape.quantity_dispersion * sizes), 5)
        )
        ids = np.arange(self._next_id, self._next_id + size, dtype=np.int64)
        self._next_id += size
        return TradeColumns(
            trade_id=ids,
            price=prices,
            quantity=quantities,
            quote_quantity=prices * quantities,
            timestamp_ms=times,
            is_buyer_maker=taker_sold,
        )

    def _hawkes_wait(self, shape: MarketShape, target: float) -> float:
        """Time until the integrated intensity mu*t + e/d*(1-exp(-d*t)) reaches ``target``."""
        mu, decay, excitation = shape.base_intensity_per_s, shape.excitation_decay_per_s, self._excitation
        wait = target / (mu + excitation)  # lower bound: intensity only decays
        for _ in range(30):  # Newton's method on a concave, increasing function
            integral = mu * wait + excitation / decay * (1 - math.exp(-decay * wait))
            intensity = mu + excitation * math.exp(-decay * wait)
            step = (integral - target) / intensity
            wait -= step
            if abs(step) < 1e-9:
                break
        return max(wait, 0.0)
