"""Feast adapter (the default): Redis online store, parquet parts + duckdb offline store.

The repository (``feature_store.yaml`` and the registry) lives at ``FEAST_REPO_PATH``;
it is written and the feature view applied on first use, so nothing needs
``feast apply`` by hand. Feast's own offline push only appends, so offline rows go to
:class:`OfflineLog` (idempotent by key) which is also the view's ``FileSource``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import structlog
import yaml
from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast import FeatureStore as FeastClient
from feast.types import Float64, Int64, String

from tickcast.store.settings import FeatureStoreSettings
from tickcast.store.frames import frame_to_vectors, vectors_to_frame, with_event_time
from tickcast.store.offline_log import OfflineLog, offline_root
from tickcast.contracts import FeatureVector
from tickcast.features import FEATURE_NAMES

log = structlog.get_logger(__name__)

FEATURE_VIEW = "candle_features"
_META_FEATURES = ("timestamp_ms", "feature_set_version", "close")


def redis_connection_string(url: str) -> str:
    """``redis://[:password@]host:port/db`` -> Feast's ``host:port,db=N[,password=...][,ssl=true]``."""
    parsed = urlparse(url)
    parts = [f"{parsed.hostname or 'localhost'}:{parsed.port or 6379}"]
    database = parsed.path.lstrip("/")
    if database:
        parts.append(f"db={int(database)}")
    if parsed.password:
        parts.append(f"password={parsed.password}")
    if parsed.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)


class FeastFeatureStore:
    def __init__(self, repo_path: Path, project: str, redis_url: str, compact_parts: int = 256) -> None:
        self.repo_path = repo_path.resolve()
        self.offline = OfflineLog(offline_root(self.repo_path), compact_parts)
        self._write_repo_config(project, redis_url)
        self._client = FeastClient(repo_path=str(self.repo_path))
        self._view = self._feature_view()
        self._apply_if_changed()

    @classmethod
    def from_settings(cls, settings: FeatureStoreSettings) -> FeastFeatureStore:
        return cls(
            settings.feast_repo_path,
            settings.feast_project,
            settings.redis.url,
            settings.feast_offline_compact_parts,
        )

    # --- FeatureStore ---------------------------------------------------------------------

    def write(self, vectors: Sequence[FeatureVector]) -> None:
        if not vectors:
            return
        frame = vectors_to_frame(vectors)
        # Offline first: if the online write then fails, the replay rewrites both idempotently.
        self.offline.write(frame)
        online = with_event_time(frame, pd.Timestamp.now(tz="UTC"))
        self._client.write_to_online_store(FEATURE_VIEW, online)

    def write_history(self, frame: pd.DataFrame) -> None:
        self.offline.write(frame)

    def read_online(self, symbols: Sequence[str], interval: str) -> dict[str, FeatureVector]:
        if not symbols:
            return {}
        response = self._client.get_online_features(
            features=self._feature_refs(),
            entity_rows=[{"symbol": symbol, "interval": interval} for symbol in symbols],
        ).to_dict()
        frame = pd.DataFrame(response)
        frame = frame[frame["timestamp_ms"].notna()]
        vectors = frame_to_vectors(frame.astype({"timestamp_ms": "int64"}))
        return {vector.symbol: vector for vector in vectors}

    def read_offline(self, symbols: Sequence[str], interval: str, start_ms: int, end_ms: int) -> pd.DataFrame:
        return self.offline.read(symbols, interval, start_ms, end_ms)

    def point_in_time(self, entity_df: pd.DataFrame) -> pd.DataFrame:
        entities = entity_df.copy()
        entities["event_timestamp"] = pd.to_datetime(entities["event_timestamp"], utc=True).astype(
            "datetime64[us, UTC]"
        )
        entities["entity_row"] = range(len(entities))  # Feast does not keep the row order
        job = self._client.get_historical_features(entity_df=entities, features=self._feature_refs())
        joined = job.to_df().sort_values("entity_row", kind="stable")
        return joined.drop(columns="entity_row").reset_index(drop=True)

    def close(self) -> None:
        """Nothing to release: Feast opens its clients per call."""

    def compact(self) -> int:
        return sum(
            self.offline.compact(path.name.split("=", 1)[1]) for path in self.offline.root.glob("interval=*")
        )

    # --- repository -----------------------------------------------------------------------

    def _feature_refs(self) -> list[str]:
        return [f"{FEATURE_VIEW}:{name}" for name in (*_META_FEATURES, *FEATURE_NAMES)]

    def _write_repo_config(self, project: str, redis_url: str) -> None:
        self.repo_path.mkdir(parents=True, exist_ok=True)
        config = {
            "project": project,
            "provider": "local",
            "registry": {"path": str(self.repo_path / "registry.db"), "cache_ttl_seconds": 60},
            "online_store": {"type": "redis", "connection_string": redis_connection_string(redis_url)},
            "offline_store": {"type": "duckdb"},
            "entity_key_serialization_version": 3,
        }
        text = yaml.safe_dump(config, sort_keys=False)
        path = self.repo_path / "feature_store.yaml"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)

    def _feature_view(self) -> FeatureView:
        self.offline.ensure_readable()
        source = FileSource(
            name=f"{FEATURE_VIEW}_parquet",
            path=self.offline.glob,
            timestamp_field="event_timestamp",
            created_timestamp_column="written_at",
        )
        return FeatureView(
            name=FEATURE_VIEW,
            entities=[self._symbol, self._interval],
            ttl=timedelta(
                0
            ),  # 0: never expires; point-in-time takes the newest row not after the entity time
            schema=[
                Field(name="symbol", dtype=String),
                Field(name="interval", dtype=String),
                Field(name="timestamp_ms", dtype=Int64),
                Field(name="feature_set_version", dtype=String),
                Field(name="close", dtype=Float64),
                *[Field(name=name, dtype=Float64) for name in FEATURE_NAMES],
            ],
            source=source,
            online=True,
        )

    _symbol = Entity(name="symbol", join_keys=["symbol"], value_type=ValueType.STRING)
    _interval = Entity(name="interval", join_keys=["interval"], value_type=ValueType.STRING)

    def _apply_if_changed(self) -> None:
        try:
            current = self._client.get_feature_view(FEATURE_VIEW)
        except Exception:  # Feast raises its own "not found" types depending on the registry
            current = None
        wanted_features = [feature.name for feature in self._view.features]
        if (
            current is not None
            and [feature.name for feature in current.features] == wanted_features
            and current.batch_source.path == self.offline.glob
        ):
            return
        started = time.monotonic()
        self._client.apply([self._symbol, self._interval, self._view])
        log.info(
            "feast repository applied", repo=str(self.repo_path), seconds=round(time.monotonic() - started, 2)
        )
