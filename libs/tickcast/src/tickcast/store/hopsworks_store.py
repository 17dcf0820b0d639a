"""Hopsworks adapter: the real ``hopsworks`` client (feature groups, a feature view).

Two feature groups share the feature columns:

- ``<name>`` (offline): primary key ``symbol, interval, timestamp_ms``, event time
  ``event_time``; Hopsworks upserts by primary key, so a replay leaves one row. Its
  feature view ``<name>`` is what training data is created from.
- ``<name>_latest`` (online-enabled): primary key ``symbol, interval``: the newest
  vector per symbol, read through the feature view ``<name>_latest``.

Connecting a real cluster: set ``FEATURE_STORE=hopsworks``, ``HOPSWORKS_HOST`` (e.g.
``c.app.hopsworks.ai``), ``HOPSWORKS_PROJECT`` and ``HOPSWORKS_API_KEY`` (an API key
created in the project's settings); ``hopsworks.login`` does the rest. The feature
groups and views are created on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import structlog

from tickcast.store.settings import FeatureStoreSettings
from tickcast.store.base import KEY_COLUMNS, META_COLUMNS
from tickcast.store.frames import frame_to_vectors, vectors_to_frame
from tickcast.contracts import FeatureVector
from tickcast.extras import import_extra
from tickcast.features import FEATURE_NAMES, FEATURE_SET_VERSION

log = structlog.get_logger(__name__)

COLUMNS = [*KEY_COLUMNS, *META_COLUMNS, *FEATURE_NAMES]


def _with_event_time(frame: pd.DataFrame) -> pd.DataFrame:
    event_time = pd.to_datetime(frame["timestamp_ms"], unit="ms", utc=True)
    return frame.assign(event_time=event_time)


class HopsworksFeatureStore:
    def __init__(self, feature_store: Any, name: str, version: int) -> None:
        description = (
            f"Tickcast candle features ({FEATURE_SET_VERSION}), one row per symbol, interval and candle"
        )
        self._history = feature_store.get_or_create_feature_group(
            name=name,
            version=version,
            description=description,
            primary_key=list(KEY_COLUMNS),
            event_time="event_time",
            online_enabled=False,
        )
        self._latest = feature_store.get_or_create_feature_group(
            name=f"{name}_latest",
            version=version,
            description="Newest Tickcast feature vector per symbol and interval",
            primary_key=["symbol", "interval"],
            event_time="event_time",
            online_enabled=True,
        )
        self._latest_view = feature_store.get_or_create_feature_view(
            name=f"{name}_latest", version=version, query=self._latest.select_all()
        )
        self.training_view = feature_store.get_or_create_feature_view(
            name=name, version=version, query=self._history.select_all()
        )

    @classmethod
    def from_settings(
        cls, settings: FeatureStoreSettings, login: Callable[..., Any] | None = None
    ) -> HopsworksFeatureStore:
        if login is None:
            login = import_extra("hopsworks", "hopsworks", "FEATURE_STORE=hopsworks").login
        api_key = settings.hopsworks_api_key.get_secret_value() if settings.hopsworks_api_key else None
        project = login(
            host=settings.hopsworks_host,
            port=settings.hopsworks_port,
            project=settings.hopsworks_project,
            api_key_value=api_key,
        )
        log.info("hopsworks connected", host=settings.hopsworks_host, project=settings.hopsworks_project)
        return cls(
            project.get_feature_store(),
            settings.hopsworks_feature_group,
            settings.hopsworks_feature_group_version,
        )

    def write(self, vectors: Sequence[FeatureVector]) -> None:
        if not vectors:
            return
        frame = vectors_to_frame(vectors)
        self.write_history(frame)
        newest = frame.sort_values("timestamp_ms").drop_duplicates(["symbol", "interval"], keep="last")
        # The online store overwrites by primary key whatever the event time: keep a replay
        # of older vectors from moving a symbol's latest vector back in time.
        current = {
            (vector.symbol, vector.interval): vector.timestamp_ms
            for interval in newest["interval"].unique()
            for vector in self.read_online(list(newest["symbol"]), str(interval)).values()
        }
        is_newer = [
            timestamp > current.get((symbol, interval), -1)
            for symbol, interval, timestamp in zip(
                newest["symbol"], newest["interval"], newest["timestamp_ms"], strict=True
            )
        ]
        if any(is_newer):
            self._latest.insert(_with_event_time(newest[is_newer]), write_options={"wait_for_job": True})

    def write_history(self, frame: pd.DataFrame) -> None:
        if not frame.empty:
            self._history.insert(_with_event_time(frame[COLUMNS]), write_options={"wait_for_job": True})

    def read_online(self, symbols: Sequence[str], interval: str) -> dict[str, FeatureVector]:
        if not symbols:
            return {}
        rows = self._latest_view.get_feature_vectors(
            serving_keys=[{"symbol": symbol, "interval": interval} for symbol in symbols],
            return_type="pandas",
            allow_missing=True,
        )
        rows = rows[rows["timestamp_ms"].notna()] if "timestamp_ms" in rows else rows.iloc[0:0]
        if rows.empty:
            return {}
        return {vector.symbol: vector for vector in frame_to_vectors(rows.astype({"timestamp_ms": "int64"}))}

    def read_offline(self, symbols: Sequence[str], interval: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        history = self._history
        query = history.select_all().filter(
            history.symbol.isin(list(symbols))
            & (history.interval == interval)
            & (history.timestamp_ms >= start_ms)
            & (history.timestamp_ms < end_ms)
        )
        frame = query.read()
        frame = frame.drop_duplicates(list(KEY_COLUMNS), keep="last")
        return frame.sort_values(["symbol", "timestamp_ms"], kind="stable")[COLUMNS].reset_index(drop=True)

    def point_in_time(self, entity_df: pd.DataFrame) -> pd.DataFrame:
        """As-of join done here on an offline read (hsfs joins feature groups, not ad-hoc frames)."""
        entities = entity_df.copy()
        entities["event_timestamp"] = pd.to_datetime(entities["event_timestamp"], utc=True)
        entities["entity_row"] = range(len(entities))
        entity_ms = entities["event_timestamp"].astype("int64") // 1_000_000  # ns -> ms
        joined = []
        for (symbol, interval), rows in entities.assign(as_of_ms=entity_ms).groupby(["symbol", "interval"]):
            history = self.read_offline([str(symbol)], str(interval), 0, int(rows["as_of_ms"].max()) + 1)
            joined.append(
                pd.merge_asof(
                    rows.sort_values("as_of_ms"),
                    history.drop(columns=["symbol", "interval"]).rename(
                        columns={"timestamp_ms": "as_of_match"}
                    ),
                    left_on="as_of_ms",
                    right_on="as_of_match",
                    direction="backward",  # never a vector after the entity's time
                ).rename(columns={"as_of_match": "timestamp_ms"})
            )
        result = pd.concat(joined).sort_values("entity_row").drop(columns=["entity_row", "as_of_ms"])
        return result.reset_index(drop=True)

    def close(self) -> None:
        """hopsworks keeps one connection per process; nothing to release per store."""
