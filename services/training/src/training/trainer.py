"""Fit one model kind on a prepared dataset and predict its test part."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tickcast.model_bundle.bundle import BundleMetadata
from training.dataset import PreparedDataset, Samples
from training.models import FitReport, FitSettings, TrainingArrays, build_model, fit_model, lag_for
from tickcast.model_bundle.scaling import Scaler
from tickcast.serving import ServableModel


@dataclass(frozen=True)
class TrainedModel:
    kind: str
    servable: ServableModel  # name/version are placeholders until registered
    metadata: BundleMetadata
    scaler: Scaler
    keras_model: Any
    fit: FitReport | None  # None for a model trained elsewhere
    shrinkage: tuple[float, ...] = ()  # validation-fitted factor per horizon, already in the scaler


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
    train = training_arrays(data.train, scaler, lag)
    if shuffle_labels:
        order = np.random.default_rng(settings.seed).permutation(len(train.returns))
        train = TrainingArrays(train.windows, train.returns[order], train.directions[order])
    model = build_model(kind, lag, len(data.feature_names), len(data.horizons), settings.seed, settings.learning_rate)
    report = fit_model(model, train, training_arrays(data.validation, scaler, lag), settings)
    metadata = metadata_for(data, kind, lag)
    raw = ServableModel.from_parts(metadata, scaler, model, name="candidate", version="")
    shrinkage = fit_shrinkage(raw.predict_all_horizons(data.validation.last(lag)), data.validation.targets)
    scaler = scaler.with_target_factors(shrinkage)
    servable = ServableModel.from_parts(metadata, scaler, model, name="candidate", version="")
    return TrainedModel(kind, servable, metadata, scaler, model, report, tuple(shrinkage.tolist()))


SHRINKAGE_GRID = np.round(np.arange(0.0, 1.51, 0.05), 2)


def fit_shrinkage(predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Per horizon, the factor in [0, 1.5] on the forecast that minimises validation MAE.

    A network fitted to noise makes confident forecasts that lose to "no change"; scaling
    them on data it was not trained on (validation, never test) pulls such a model towards
    persistence (factor 0) and leaves a real signal intact (factor near 1).
    """
    errors = np.abs(SHRINKAGE_GRID[:, None, None] * predicted[None, :, :] - actual[None, :, :]).mean(axis=1)
    return SHRINKAGE_GRID[np.argmin(errors, axis=0)]


def training_arrays(samples: Samples, scaler: Scaler, lag: int) -> TrainingArrays:
    return TrainingArrays(
        windows=scaler.transform(samples.last(lag)),
        returns=scaler.scale_targets(samples.targets),
        directions=samples.directions.astype(np.int32),
    )


def load_external(model_path: Path, data: PreparedDataset, scaler_path: Path | None = None) -> TrainedModel:
    """A Keras model trained elsewhere (e.g. on ``export-dataset`` output), ready for the same evaluation.

    Its input must be (lag, n_features) over the dataset's feature columns in order. Without a
    scaler file it is assumed to take raw features and predict raw log returns.
    """
    from tickcast.model_bundle.bundle import load_keras_model

    model = load_keras_model(model_path)
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 3 or shape[2] != len(data.feature_names):
        raise ValueError(
            f"{model_path.name} takes inputs {shape}; expected (None, lag, {len(data.feature_names)}) over "
            f"the features {data.feature_names}"
        )
    lag = int(shape[1])
    if lag > data.lag_window:
        raise ValueError(f"the model looks back {lag} candles; raise TRAINING_LAG_WINDOW to at least that")
    scaler = Scaler.load(scaler_path) if scaler_path else Scaler.identity(data.feature_names, len(data.horizons))
    if list(scaler.feature_names) != data.feature_names:
        raise ValueError("the scaler file's feature names differ from the dataset's feature columns")
    metadata = metadata_for(data, "keras", lag)
    servable = ServableModel.from_parts(metadata, scaler, model, name="candidate", version="")
    probe = servable.predict_all_horizons(data.test.last(lag)[:2])
    if probe.shape[1] != len(data.horizons):
        raise ValueError(f"the model predicts {probe.shape[1]} horizon(s); the dataset has {data.horizons}")
    return TrainedModel("keras", servable, metadata, scaler, model, None)
