"""Candle builder: event-time OHLCV candles from the ``trades`` topic, equal to the exchange's klines.

``candle_builder.aggregate.build_candles`` builds the same candles from a finite
list of trades, without Kafka.
"""

from tickcast.quiet import silence_known_notices

silence_known_notices()

# The service's one name: in logs, dead letters and its supervisor.
SERVICE = "candle_builder"
