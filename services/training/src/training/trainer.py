"""Fit one model kind (Keras or tabular) on a prepared dataset; or take one trained elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tickcast.model_bundle.bundle import BundleMetadata
from tickcast.model_bundle.flavours import KERAS
from training.dataset import PreparedDataset, Samples
from training.models import FitReport, FitSettings, TrainingArrays, build_model, fit_model, lag_for
from training.tabular import TABULAR_KINDS, fit_tabular, flavour_of
from tickcast.model_bundle.scaling import Scaler
from tickcast.serving import ServableModel


@dataclass(frozen=True)
class TrainedModel:
    kind: str
    servable: ServableModel  # name/version are placeholders until registered
    metadata: BundleMetadata
    scaler: Scaler
    model: Any  # the Keras model, or the flavour's own object (see tickcast.model_bundle.flavours)
    fit: FitReport | None  # None for a model trained elsewhere
    shrinkage: tuple[float, ...] = ()  # validation-fitted factor per horizon, already in the scaler


def fit_scaler(data: PreparedDataset) -> Scaler:
    """Standardisation from the training part only (its newest vectors: one per row)."""
    return Scaler.fit(data.feature_names, data.train.last(1)[:, 0, :], data.train.targets)


def metadata_for(data: PreparedDataset, kind: str, lag: int, flavour: str = KERAS) -> BundleMetadata:
    return BundleMetadata(
        kind=kind,
        symbols=data.symbols,
        interval=data.interval,
        horizons=data.horizons,
        lag_window=lag,
        feature_names=data.feature_names,
        feature_set_version=data.feature_set_version,
        dead_band=data.dead_band,
        flavour=flavour,
    )


def train_model(
    kind: str, data: PreparedDataset, settings: FitSettings, shuffle_labels: bool = False
) -> TrainedModel:
    """Fit ``kind`` on the train part with early stopping on validation.

    ``shuffle_labels`` permutes the training labels: a control that must not beat persistence.
    """
    tabular = kind in TABULAR_KINDS
    lag = 1 if tabular else lag_for(kind, data.lag_window)
    scaler = fit_scaler(data)
    train = training_arrays(data.train, scaler, lag)
    if shuffle_labels:
        order = np.random.default_rng(settings.seed).permutation(len(train.returns))
        train = TrainingArrays(train.windows, train.returns[order], train.directions[order])
    validation = training_arrays(data.validation, scaler, lag)
    if tabular:
        model, report = fit_tabular(kind, train, validation, data.feature_names, settings.seed)
        metadata = metadata_for(data, kind, lag, flavour_of(kind, len(data.horizons)))
    else:
        model = build_model(kind, lag, len(data.feature_names), len(data.horizons), settings.seed, settings.learning_rate)
        report = fit_model(model, train, validation, settings)
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
    """A model trained elsewhere, ready for the same evaluation: a ``.keras`` file, an MLflow model
    folder (sklearn, lightgbm or any pyfunc flavour) or a LightGBM text model.

    Without a scaler file (``export-dataset`` writes one) it is assumed to take raw features and
    predict raw log returns. Its inputs must be the dataset's feature columns, in order, of the
    same feature-set version when it declares one: otherwise :class:`ExternalModelMismatch`.
    """
    from training.external import load_external_model

    scaler = Scaler.load(scaler_path) if scaler_path else Scaler.identity(data.feature_names, len(data.horizons))
    if list(scaler.feature_names) != data.feature_names:
        raise ValueError("the scaler file's feature names differ from the dataset's feature columns")
    external = load_external_model(model_path, data.feature_names, data.feature_set_version, data.lag_window)
    metadata = metadata_for(data, external.flavour, external.lag, external.flavour)
    servable = ServableModel.from_parts(metadata, scaler, external.model, name="candidate", version="")
    probe = servable.predict_all_horizons(data.test.last(external.lag)[:2])
    if probe.shape[1] != len(data.horizons):
        raise ValueError(f"the model predicts {probe.shape[1]} horizon(s); the dataset has {data.horizons}")
    return TrainedModel(external.flavour, servable, metadata, scaler, external.stored, None)
