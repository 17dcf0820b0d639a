"""Where things live in Redis: written by inference, read by the gateway.

One definition, so writer and reader cannot drift apart. Every key starts with
the configured prefix (``REDIS_KEY_PREFIX``), so stacks and tests can share a server.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "tickcast:"

    def latest_prediction(self, symbol: str) -> str:
        """String: the newest Prediction JSON for a symbol."""
        return f"{self.prefix}prediction:latest:{symbol}"

    def prediction_history(self, symbol: str) -> str:
        """Sorted set: Prediction JSON scored by as_of_ms, capped and with a TTL."""
        return f"{self.prefix}prediction:history:{symbol}"

    def model_latest_prediction(self, model_version: str, symbol: str) -> str:
        """String: the newest Prediction JSON of one challenger version (shadow) for a symbol."""
        return f"{self.prefix}prediction:model:{model_version}:latest:{symbol}"

    def model_prediction_history(self, model_version: str, symbol: str) -> str:
        """Sorted set: one challenger version's Prediction JSON scored by as_of_ms, capped and with a TTL."""
        return f"{self.prefix}prediction:model:{model_version}:history:{symbol}"

    def challenger_predictions_channel(self) -> str:
        """Pub/sub channel: every new challenger Prediction JSON, all symbols and versions."""
        return f"{self.prefix}predictions:challengers:live"

    def leaderboard(self) -> str:
        """String: JSON of the live leaderboard (champion, challengers, persistence on the same matured
        predictions) and the live-promotion settings."""
        return f"{self.prefix}model:leaderboard"

    def live_promotion_decisions(self) -> str:
        """List: JSON of the newest live-promotion decisions, newest first (the registry tags keep them all)."""
        return f"{self.prefix}model:live-promotion-decisions"

    def predictions_channel(self) -> str:
        """Pub/sub channel: every new Prediction JSON, all symbols."""
        return f"{self.prefix}predictions:live"

    def candles(self, symbol: str, interval: str) -> str:
        """Sorted set: Candle JSON scored by open_time_ms, capped and with a TTL."""
        return f"{self.prefix}candles:{symbol}:{interval}"

    def symbols(self) -> str:
        """Set: every symbol that has candles or predictions."""
        return f"{self.prefix}symbols"

    def served_model(self) -> str:
        """Hash: name, version, feature_set_version, loaded_at_ms, offline metrics JSON of the model served."""
        return f"{self.prefix}model:served"

    def live_metrics(self, model_name: str, symbol: str) -> str:
        """Hash: rolling live MAE, persistence MAE, skill, hit rate and count for a model on a symbol."""
        return f"{self.prefix}model:live:{model_name}:{symbol}"

    def rebuilt_partitions(self) -> str:
        """Set: candle partitions whose recent history inference has written from the topics.

        Missing after Redis lost its data (a restart without its files, a FLUSH): inference then
        rebuilds those partitions' candles, predictions and live scores from the topics.
        """
        return f"{self.prefix}store:rebuilt-partitions"

    def broker_identity(self) -> str:
        """String: the ``tickcast.local_state.BrokerIdentity`` (JSON) of the topics the store was filled from.

        A store met by another cluster (a fresh broker, its data wiped) or by a topic created again
        holds what the topics no longer say: inference discards it and rebuilds from the topics.
        """
        return f"{self.prefix}store:broker-identity"

    def symbol_status(self) -> str:
        """Hash: symbol -> its latest SymbolStatus JSON, mirrored from the ``symbol-status`` topic."""
        return f"{self.prefix}symbol:status"

    def everything_pattern(self) -> str:
        return f"{self.prefix}*"

    def live_metrics_pattern(self) -> str:
        return f"{self.prefix}model:live:*"

    def forecast_live_scores(self) -> str:
        """Hash: one field per (symbol, horizon, target, forecaster), its value the JSON of the rolling live
        scores of matured distribution forecasts (coverage, pinball, QLIKE, Brier, count)."""
        return f"{self.prefix}forecast:live"

    def paper_books(self) -> str:
        """Hash: one field per ``<model>@<version>|<symbol>``, its value the ``tickcast.paper_trading.PaperBook``
        JSON of that model's paper portfolio on that symbol (state and figures)."""
        return f"{self.prefix}paper:books"

    def paper_curve(self, model_name: str, model_version: str, symbol: str) -> str:
        """Sorted set: ``PaperPoint`` JSON of a paper book's equity curve scored by time_ms, capped, with a TTL."""
        return f"{self.prefix}paper:curve:{model_name}@{model_version}:{symbol}"
