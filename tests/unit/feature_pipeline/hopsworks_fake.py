"""A stand-in for the ``hopsworks`` client, at its boundary: ``login`` and the hsfs objects the
adapter touches. It keeps what a cluster keeps (upserts by primary key, online rows only in
online-enabled groups) and records how it was called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

Predicate = Callable[[pd.DataFrame], pd.Series]


@dataclass
class FakeFilter:
    predicate: Predicate

    def __and__(self, other: FakeFilter) -> FakeFilter:
        return FakeFilter(lambda frame: self.predicate(frame) & other.predicate(frame))


@dataclass(eq=False)
class FakeFeature:
    name: str

    def isin(self, values: list[Any]) -> FakeFilter:
        return FakeFilter(lambda frame: frame[self.name].isin(values))

    def __eq__(self, value: object) -> FakeFilter:  # type: ignore[override]
        return FakeFilter(lambda frame: frame[self.name] == value)

    def __ge__(self, value: Any) -> FakeFilter:
        return FakeFilter(lambda frame: frame[self.name] >= value)

    def __lt__(self, value: Any) -> FakeFilter:
        return FakeFilter(lambda frame: frame[self.name] < value)


@dataclass
class FakeQuery:
    group: FakeFeatureGroup
    where: FakeFilter | None = None

    def filter(self, where: FakeFilter) -> FakeQuery:
        return FakeQuery(self.group, where)

    def read(self) -> pd.DataFrame:
        frame = self.group.frame
        return frame if self.where is None else frame[self.where.predicate(frame)]


@dataclass
class FakeFeatureGroup:
    name: str
    version: int
    primary_key: list[str]
    event_time: str
    online_enabled: bool
    description: str = ""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    inserts: int = 0

    def insert(self, features: pd.DataFrame, write_options: dict[str, Any] | None = None) -> None:
        assert self.event_time in features.columns and set(self.primary_key) <= set(features.columns)
        self.inserts += 1
        combined = pd.concat([self.frame, features], ignore_index=True)
        self.frame = combined.drop_duplicates(self.primary_key, keep="last").reset_index(drop=True)

    def select_all(self) -> FakeQuery:
        return FakeQuery(self)

    def __getattr__(self, name: str) -> FakeFeature:
        if name.startswith("_"):
            raise AttributeError(name)
        return FakeFeature(name)


@dataclass
class FakeFeatureView:
    name: str
    version: int
    query: FakeQuery

    def get_feature_vectors(
        self, serving_keys: list[dict[str, Any]], return_type: str = "list", allow_missing: bool = False
    ) -> pd.DataFrame:
        group = self.query.group
        assert group.online_enabled, "online reads need an online-enabled feature group"
        assert return_type == "pandas"
        rows = []
        for keys in serving_keys:
            match = group.frame
            for column, value in keys.items():
                match = match[match[column] == value] if not match.empty else match
            if match.empty:
                assert allow_missing
                rows.append({**keys, "timestamp_ms": None})
            else:
                rows.append(match.iloc[-1].to_dict())
        return pd.DataFrame(rows)


@dataclass
class FakeFeatureStore:
    groups: dict[str, FakeFeatureGroup] = field(default_factory=dict)
    views: dict[str, FakeFeatureView] = field(default_factory=dict)

    def get_or_create_feature_group(self, name: str, version: int, **options: Any) -> FakeFeatureGroup:
        return self.groups.setdefault(name, FakeFeatureGroup(name=name, version=version, **options))

    def get_or_create_feature_view(self, name: str, query: FakeQuery, version: int) -> FakeFeatureView:
        return self.views.setdefault(name, FakeFeatureView(name, version, query))


@dataclass
class FakeHopsworks:
    feature_store: FakeFeatureStore = field(default_factory=FakeFeatureStore)
    logins: list[dict[str, Any]] = field(default_factory=list)

    def login(self, **kwargs: Any) -> FakeHopsworks:
        self.logins.append(kwargs)
        return self

    def get_feature_store(self) -> FakeFeatureStore:
        return self.feature_store
