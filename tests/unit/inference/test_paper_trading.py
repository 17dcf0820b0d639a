"""Paper trading without a broker: the signal, the accounting of a book (hand-checked numbers) and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inference.model import BASELINE_NAME, BASELINE_VERSION
from inference.paper_trading.signal import Signal, quantile_mean, round_trip_cost, signal_of, target_position
from inference.paper_trading.trader import PaperTrader
from tickcast.contracts import QUANTILE_LEVELS, DistributionForecast, Prediction
from tickcast.paper_trading import (
    PaperBook,
    PaperPoint,
    combine_curves,
    combine_figures,
    drawdown_curve,
    figures,
)
from unit.inference.linear_models import BASE_MS, MINUTE_MS

FEE_BPS = 10.0  # 0.1 % per side


def prediction(step: int, predicted_return: float, *, version: str = "1", symbol: str = "BTCUSDT",
               forecasts: list[DistributionForecast] | None = None) -> Prediction:
    as_of = BASE_MS + step * MINUTE_MS
    return Prediction(symbol=symbol, model_name="m", model_version=version, horizon=1, as_of_ms=as_of,
                      target_time_ms=as_of + MINUTE_MS, predicted_return=predicted_return,
                      predicted_price=100 * math.exp(predicted_return), direction="flat",
                      emitted_ms=as_of + MINUTE_MS, forecasts=forecasts or [])


def distribution(return_quantiles: list[float], p_up: float, p_down: float) -> DistributionForecast:
    step_ms = BASE_MS + MINUTE_MS
    return DistributionForecast(horizon=1, target_time_ms=step_ms, return_quantiles=return_quantiles,
                                price_quantiles=[100 * math.exp(q) for q in return_quantiles], p_up=p_up,
                                p_down=p_down, dead_band=0.0005, forecast_volatility=0.01,
                                forecasters={"distribution": "test"})


def candle(trader: PaperTrader, step: int, close: float, symbol: str = "BTCUSDT") -> None:
    trader.on_candle(symbol, BASE_MS + step * MINUTE_MS, close)


def book_of(trader: PaperTrader, version: str = "1") -> PaperBook:
    book = trader.book("m", version, "BTCUSDT")
    assert book is not None
    return book


# ------------------------------------------------------------------ the signal

def test_quantile_mean_weights_each_quantile_by_its_nearest_mass():
    # levels 5,10,25,50,75,90,95 %: weights 7.5, 10, 20, 25, 20, 10, 7.5 %
    assert quantile_mean(QUANTILE_LEVELS, [1, 0, 0, 0, 0, 0, 0]) == pytest.approx(0.075)
    assert quantile_mean(QUANTILE_LEVELS, [0, 0, 0, 1, 0, 0, 0]) == pytest.approx(0.25)
    assert quantile_mean(QUANTILE_LEVELS, [2.0] * 7) == pytest.approx(2.0)
    symmetric = [-0.03, -0.02, -0.01, 0.0, 0.01, 0.02, 0.03]
    assert quantile_mean(QUANTILE_LEVELS, symmetric) == pytest.approx(0.0)


def test_signal_uses_the_distribution_of_the_prediction_horizon_else_the_point():
    assert signal_of(prediction(0, 0.004)) == Signal(0.004)
    quantiles = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007]
    with_distribution = signal_of(prediction(0, -0.5, forecasts=[distribution(quantiles, 0.7, 0.2)]))
    assert with_distribution.expected_return == pytest.approx(0.004)
    assert (with_distribution.p_up, with_distribution.p_down) == (0.7, 0.2)


def test_position_enters_only_beyond_the_round_trip_fee_and_holds_while_the_sign_holds():
    assert round_trip_cost(FEE_BPS) == pytest.approx(0.002)
    assert target_position(Signal(0.0021), 0, FEE_BPS, allow_short=False) == 1
    assert target_position(Signal(0.0019), 0, FEE_BPS, allow_short=False) == 0  # does not pay its fees
    assert target_position(Signal(0.0001), 1, FEE_BPS, allow_short=False) == 1  # held: keeping costs nothing
    assert target_position(Signal(-0.0001), 1, FEE_BPS, allow_short=False) == 0
    assert target_position(Signal(-0.01), 0, FEE_BPS, allow_short=False) == 0  # long/flat by default
    assert target_position(Signal(-0.01), 0, FEE_BPS, allow_short=True) == -1
    assert target_position(Signal(-0.0001), -1, FEE_BPS, allow_short=True) == -1


def test_probabilities_that_disagree_with_the_edge_keep_the_book_flat():
    assert target_position(Signal(0.01, p_up=0.3, p_down=0.6), 0, FEE_BPS, allow_short=False) == 0
    assert target_position(Signal(0.01, p_up=0.6, p_down=0.3), 0, FEE_BPS, allow_short=False) == 1
    assert target_position(Signal(-0.01, p_up=0.6, p_down=0.3), 0, FEE_BPS, allow_short=True) == 0


# ------------------------------------------------------------------ the accounting, by hand

def test_hand_checked_book_fees_drawdown_turnover():
    trader = PaperTrader(FEE_BPS, allow_short=False, interval_ms=MINUTE_MS)
    candle(trader, 0, 100.0)
    trader.on_prediction(prediction(0, 0.005))  # edge 0.5 % > 0.2 %: long at 100, fee 0.1 % of 1.0
    assert book_of(trader).position == 1 and book_of(trader).equity == pytest.approx(0.999)
    assert book_of(trader).buy_hold_equity == pytest.approx(0.999)  # buy-and-hold pays its entry fee too
    candle(trader, 1, 110.0)  # +10 %
    trader.on_prediction(prediction(1, 0.001))  # marked to its close, then: below the fee but positive, held
    assert book_of(trader).equity == pytest.approx(0.999 * 1.1) and book_of(trader).position == 1
    candle(trader, 2, 99.0)  # -10 %
    trader.on_prediction(prediction(2, -0.01))  # marked (0.98901), then out: fee 0.1 % of 0.98901
    assert book_of(trader).position == 0
    assert book_of(trader).equity == pytest.approx(0.98901 * 0.999)
    candle(trader, 3, 120.0)  # flat: the rise is not ours
    trader.on_prediction(prediction(3, -0.01))
    assert book_of(trader).equity == pytest.approx(0.98901 * 0.999)
    assert book_of(trader).buy_hold_equity == pytest.approx(0.999 * 1.2)
    assert book_of(trader).fees_paid == pytest.approx(0.001 + 0.00098901)
    assert book_of(trader).turnover == 2 and book_of(trader).trades == 2
    assert book_of(trader).max_drawdown == pytest.approx(1 - 0.98901 * 0.999 / 1.0989)
    assert book_of(trader).buy_hold_max_drawdown == pytest.approx(0.1)
    assert (book_of(trader).candles_marked, book_of(trader).candles_in_market) == (3, 2)
    numbers = figures(book_of(trader))
    assert numbers.strategy_return == pytest.approx(0.98901 * 0.999 - 1)
    assert numbers.buy_hold_return == pytest.approx(0.999 * 1.2 - 1)
    assert numbers.exposure == pytest.approx(2 / 3)
    assert numbers.last_time_ms == BASE_MS + 4 * MINUTE_MS


def test_short_flip_pays_two_sides():
    trader = PaperTrader(FEE_BPS, allow_short=True, interval_ms=MINUTE_MS)
    candle(trader, 0, 100.0)
    trader.on_prediction(prediction(0, -0.01))
    candle(trader, 1, 90.0)  # short earns 10 %
    trader.on_prediction(prediction(1, 0.01))  # short -> long: |change| 2
    assert book_of(trader).position == 1 and book_of(trader).turnover == 3 and book_of(trader).trades == 2
    assert book_of(trader).equity == pytest.approx(0.999 * 1.1 * (1 - 0.002))


def test_no_look_ahead_a_forecast_earns_from_its_close_onward():
    trader = PaperTrader(0.0, allow_short=False, interval_ms=MINUTE_MS)
    candle(trader, 0, 100.0)
    candle(trader, 1, 200.0)  # the move before the forecast's close
    trader.on_prediction(prediction(1, 0.01))
    assert book_of(trader).equity == 1.0
    candle(trader, 2, 220.0)
    trader.on_prediction(prediction(2, 0.01))
    assert book_of(trader).equity == pytest.approx(1.1)


def test_forecast_before_its_candle_waits_and_after_the_next_close_is_late():
    early = PaperTrader(FEE_BPS, allow_short=False, interval_ms=MINUTE_MS)
    candle(early, 0, 100.0)
    early.on_prediction(prediction(1, 0.01))  # its candle has not closed yet: pending
    assert book_of(early).position == 0 and len(book_of(early).pending) == 1
    candle(early, 1, 105.0)
    assert book_of(early).position == 1 and book_of(early).pending == []

    late = PaperTrader(FEE_BPS, allow_short=False, interval_ms=MINUTE_MS)
    for step, close in enumerate([100.0, 105.0, 110.0]):
        candle(late, step, close)
    late.on_prediction(prediction(0, 0.0))  # starts the book
    late.on_prediction(prediction(2, 0.0))  # the book moves to step 2's close
    late.on_prediction(prediction(1, 0.01))  # its close is passed: never applied in the past
    assert book_of(late).position == 0 and book_of(late).equity == 1.0

    gap = PaperTrader(FEE_BPS, allow_short=False, interval_ms=MINUTE_MS)
    candle(gap, 0, 100.0)
    candle(gap, 2, 110.0)  # the candle of step 1 never came
    gap.on_prediction(prediction(0, 0.0))
    gap.on_prediction(prediction(1, 0.01))  # its close is unknown: not acted on at another price
    assert book_of(gap).position == 0 and book_of(gap).late_forecasts == 1


def test_arrival_order_of_candles_and_forecasts_does_not_change_the_book():
    closes = [100.0, 103.0, 99.0, 104.0, 108.0]
    edges = [0.01, 0.004, -0.01, 0.02, 0.0]
    candles_first = PaperTrader(FEE_BPS, allow_short=False, interval_ms=MINUTE_MS)
    for step, close in enumerate(closes):  # a backlog: every candle before every forecast
        candle(candles_first, step, close)
    for step, edge in enumerate(edges):
        candles_first.on_prediction(prediction(step, edge))
    forecasts_first = PaperTrader(FEE_BPS, allow_short=False, interval_ms=MINUTE_MS)
    for step, edge in enumerate(edges):
        forecasts_first.on_prediction(prediction(step, edge))
    for step, close in enumerate(closes):
        candle(forecasts_first, step, close)
    assert book_of(candles_first).model_dump() == book_of(forecasts_first).model_dump()
    assert book_of(candles_first).trades == 4  # long, (held), flat, long, flat


def test_baseline_is_the_do_nothing_reference():
    trader = PaperTrader(FEE_BPS, allow_short=False, interval_ms=MINUTE_MS)
    for step, close in enumerate([100.0, 120.0, 80.0, 130.0]):
        candle(trader, step, close)
    baseline = trader.book(BASELINE_NAME, BASELINE_VERSION, "BTCUSDT")
    assert baseline is not None
    assert baseline.equity == 1.0 and baseline.trades == 0 and baseline.fees_paid == 0
    assert baseline.buy_hold_equity == pytest.approx(0.999 * 1.3)


def test_equal_weight_total_of_two_books_by_hand():
    a = [PaperPoint(time_ms=1, equity=1.0, buy_hold_equity=1.0, position=1),
         PaperPoint(time_ms=2, equity=1.2, buy_hold_equity=1.1, position=1),
         PaperPoint(time_ms=3, equity=0.9, buy_hold_equity=1.0, position=0)]
    b = [PaperPoint(time_ms=2, equity=1.0, buy_hold_equity=1.0, position=0),
         PaperPoint(time_ms=3, equity=1.1, buy_hold_equity=0.8, position=0)]
    total = combine_curves([a, b])
    assert [p.time_ms for p in total] == [1, 2, 3]
    assert [p.equity for p in total] == pytest.approx([1.0, 1.1, 1.0])  # b is cash (1.0) before it starts
    assert [p.buy_hold_equity for p in total] == pytest.approx([1.0, 1.05, 0.9])
    books = [PaperBook(model_name="m", model_version="1", symbol=s, fee_bps=0, allow_short=False, equity=e,
                       buy_hold_equity=h, fees_paid=f, turnover=t, trades=n, candles_marked=c, candles_in_market=i)
             for s, e, h, f, t, n, c, i in [("A", 0.9, 1.0, 0.002, 2, 2, 2, 1), ("B", 1.1, 0.8, 0.0, 0, 0, 1, 0)]]
    numbers = combine_figures(books, total)
    assert numbers.strategy_return == pytest.approx(0.0)
    assert numbers.fees_paid == pytest.approx(0.001) and numbers.turnover == 1 and numbers.trades == 2
    assert numbers.max_drawdown == pytest.approx(1 - 1.0 / 1.1)
    assert numbers.buy_hold_max_drawdown == pytest.approx(1 - 0.9 / 1.05)
    assert numbers.exposure == pytest.approx(1 / 3)


# ------------------------------------------------------------------ invariants

closes_strategy = st.lists(st.floats(min_value=50, max_value=150), min_size=2, max_size=40)
edges_strategy = st.lists(st.floats(min_value=-0.02, max_value=0.02), min_size=40, max_size=40)


def run(closes: list[float], edges: list[float], fee_bps: float, allow_short: bool,
        restart_at: int | None = None) -> tuple[PaperTrader, list[PaperPoint]]:
    trader = PaperTrader(fee_bps, allow_short, MINUTE_MS)
    points: list[PaperPoint] = []
    for step, close in enumerate(closes):
        if restart_at == step:  # a restart: the stored books taken back, the tail replayed over them
            stored = trader.books
            trader = PaperTrader(fee_bps, allow_short, MINUTE_MS)
            trader.restore(stored)
            for replayed in range(max(0, step - 3), step):
                candle(trader, replayed, closes[replayed])
                trader.on_prediction(prediction(replayed, edges[replayed]))
        candle(trader, step, close)
        trader.on_prediction(prediction(step, edges[step]))
        _, new = trader.drain()
        points += [p.point for p in new if p.model_name == "m"]
    return trader, points


@settings(max_examples=60, deadline=None)
@given(closes_strategy, edges_strategy, st.sampled_from([0.0, 1.0, 2.5, 10.0, 50.0]), st.booleans())
def test_accounting_invariants(closes, edges, fee_bps, allow_short):
    trader, points = run(closes, edges, fee_bps, allow_short)
    book = book_of(trader)
    assert 0 <= book.buy_hold_max_drawdown < 1
    if not allow_short:  # a short can lose more than the equity; long/flat never can
        assert book.equity > 0 and 0 <= book.max_drawdown < 1
    assert book.trades <= book.turnover <= 2 * book.trades
    if not allow_short:
        assert book.turnover == book.trades
    assert book.fees_paid >= 0 and (book.fees_paid == 0) == (book.trades == 0 or fee_bps == 0)
    # each unit of turnover pays the fee on at most the highest equity reached
    assert book.fees_paid <= fee_bps / 10_000 * book.turnover * book.peak_equity + 1e-12
    # the curve tells the same story as the book: last point, drawdown
    assert points[-1].equity == pytest.approx(book.equity)
    if book.equity > 0:
        assert max(drawdown_curve([p.equity for p in points])) == pytest.approx(book.max_drawdown, abs=1e-12)
    # buy-and-hold does not depend on the forecasts
    assert book.buy_hold_equity == pytest.approx((1 - fee_bps / 10_000) * closes[-1] / closes[0])


@settings(max_examples=40, deadline=None)
@given(closes_strategy, edges_strategy, st.booleans(), st.data())
def test_restart_and_replay_give_the_same_numbers(closes, edges, allow_short, data):
    restart_at = data.draw(st.integers(min_value=0, max_value=len(closes) - 1))
    straight, _ = run(closes, edges, FEE_BPS, allow_short)
    restarted, _ = run(closes, edges, FEE_BPS, allow_short, restart_at=restart_at)
    assert book_of(restarted).model_dump() == book_of(straight).model_dump()


@settings(max_examples=40, deadline=None)
@given(closes_strategy)
def test_always_long_without_fees_is_buy_and_hold(closes):
    trader, _ = run(closes, [1.0] * 40, 0.0, allow_short=False)
    book = book_of(trader)
    assert book.equity == pytest.approx(book.buy_hold_equity)
    assert book.trades == 1
