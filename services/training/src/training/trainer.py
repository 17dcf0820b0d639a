"""Fit one model kind on a prepared dataset and predict its test part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from training.bundle import BundleMetadata
from training.dataset import PreparedDataset, Samples
from training.models import FitReport, FitSettings, TrainingArrays, build_model, fit_model, lag_for
from training.scaling import Scaler
from training.serving import ServableModel


@dataclass(frozen=True)
class TrainedModel:
    kind: str
    servable: ServableModel  # name/version are placeholders until registered
    metadata: BundleMetadata
    scaler: Scaler
    keras_model: Any
    fit: FitReport | None  # None for a model trained elsewhere


def fit_scaler(data: PreparedDataset) -> Scaler:
    """Standardisation from the training part only (its newest vectors: one per row)."""
    return Scaler.fit(data.feature_names, data.train.last(1)[:, 0, :], data.train.targets)


def metadata_for(data: PreparedDataset, kind: str, lag: int) -> BundleMetadata:
    return BundleMetadata(
        kind=kind,
        symbols=data.symbols,
        interval=data.interval,
        horizons=data.horizons,
        lag_window=lag,
        feature_names=data.feature_names,
        feature_set_version=data.feature_set_version,
        dead_band=data.dead_band,
    )


def train_model(
    kind: str, data: PreparedDataset, settings: FitSettings, shuffle_labels: bool = False
) -> TrainedModel:
    """Fit ``kind`` on the train part with early stopping on validation.

    ``shuffle_labels`` permutes the training labels: a control that must not beat persistence.
    """
    lag = lag_for(kind, data.lag_window)
    scaler = fit_scaler(data)
    train = _arrays(data.train, scaler, lag)
    if shuffle_labels:
        order = np.random.default_rng(settings.seed).permutation(len(train.returns))
        train = TrainingArrays(train.windows, train.returns[order], train.directions[order])
    model = build_model(kind, lag, len(data.feature_names), len(data.horizons), settings.seed, settings.learning_rate)
    report = fit_model(model, train, _arrays(data.validation, scaler, lag), settings)
    metadata = metadata_for(data, kind, lag)
    servable = ServableModel.from_parts(metadata, scaler, model, name="candidate", version="")
    return TrainedModel(kind, servable, metadata, scaler, model, report)


def _arrays(samples: Samples, scaler: Scaler, lag: int) -> TrainingArrays:
    return TrainingArrays(
        windows=scaler.transform(samples.last(lag)),
        returns=scaler.scale_targets(samples.targets),
        directions=samples.directions.astype(np.int32),
    )
