"""A model trained elsewhere: read in its own format and checked against the feature set.

Accepted: a ``.keras`` file; an MLflow model folder (flavour sklearn, lightgbm, or any
pyfunc); a LightGBM text model (``.txt``); a pickled scikit-learn-style regressor
(``.joblib``/``.pkl``). What the model says about its inputs (signature columns, fitted
feature names, feature count, a ``feature_set_version`` in the MLmodel metadata) must
agree with the dataset, or the model is refused with what differs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickcast.model_bundle.flavours import KERAS, LIGHTGBM, PYFUNC, SKLEARN, load_model_at

# Names a library makes up when a model was fitted on a bare array: they say nothing about the columns.
_GENERATED_NAME = re.compile(r"^(Column_|f|x|feature_?)\d+$")
_MLFLOW_FLAVOURS = (SKLEARN, LIGHTGBM)  # loaded natively when present; anything else as a pyfunc


class ExternalModelMismatch(ValueError):
    """The model's inputs are not the feature set's."""


@dataclass(frozen=True)
class ExternalModel:
    flavour: str
    lag: int
    model: Any  # what ServableModel calls
    stored: Any  # what the bundle saves (the model, or the MLflow folder of a pyfunc)


@dataclass(frozen=True)
class DeclaredInputs:
    names: list[str] | None
    count: int | None
    feature_set_version: str | None = None


def load_external_model(
    path: Path, feature_names: Sequence[str], feature_set_version: str, max_lag: int
) -> ExternalModel:
    if not path.exists():
        raise FileNotFoundError(f"no model at {path}")
    if path.is_dir():
        external, declared = _mlflow_model(path)
    elif path.suffix == ".keras":
        return _keras_model(path, feature_names, max_lag)
    elif path.suffix == ".txt":
        import lightgbm

        booster = lightgbm.Booster(model_file=str(path))
        external, declared = ExternalModel(LIGHTGBM, 1, booster, booster), _declared_by_object(booster)
    elif path.suffix in (".joblib", ".pkl"):
        import joblib

        estimator = joblib.load(path)
        flavour = LIGHTGBM if type(estimator).__module__.startswith("lightgbm") else SKLEARN
        external, declared = ExternalModel(flavour, 1, estimator, estimator), _declared_by_object(estimator)
    else:
        raise ValueError(
            f"{path.name}: expected a .keras file, an MLflow model folder, a LightGBM .txt model or a .joblib/.pkl "
            "scikit-learn regressor"
        )
    check_inputs(path.name, declared, feature_names, feature_set_version)
    return external


def check_inputs(
    label: str, declared: DeclaredInputs, feature_names: Sequence[str], feature_set_version: str
) -> None:
    """Refuse (ExternalModelMismatch) a model whose declared inputs differ from the feature set."""
    expected = list(feature_names)
    where = f"feature set {feature_set_version} ({len(expected)} features: {', '.join(expected)})"
    if declared.feature_set_version and declared.feature_set_version != feature_set_version:
        raise ExternalModelMismatch(
            f"{label} was trained on feature set {declared.feature_set_version}; the data is {where}. "
            "Retrain it on data of this version (training export-dataset)."
        )
    names = declared.names if declared.names and not all(_GENERATED_NAME.match(n) for n in declared.names) else None
    if names is not None and names != expected:
        missing = [name for name in expected if name not in names]
        unexpected = [name for name in names if name not in expected]
        detail = (f"missing {missing}, unexpected {unexpected}" if missing or unexpected
                  else f"same names in another order: {names}")
        raise ExternalModelMismatch(f"{label}'s inputs do not match the {where}: {detail}")
    if declared.count is not None and declared.count != len(expected):
        raise ExternalModelMismatch(
            f"{label} takes {declared.count} input features; the {where}. Train it on exactly these columns, "
            "in this order."
        )


def _mlflow_model(folder: Path) -> tuple[ExternalModel, DeclaredInputs]:
    from mlflow.models import Model

    if not (folder / "MLmodel").exists():
        raise ValueError(f"{folder.name} is a folder without an MLmodel file: not an MLflow model")
    described = Model.load(str(folder))
    flavour = next((name for name in _MLFLOW_FLAVOURS if name in described.flavors), PYFUNC)
    if flavour == PYFUNC and "python_function" not in described.flavors:
        raise ValueError(f"{folder.name} has flavours {sorted(described.flavors)} and no python_function to call")
    model = load_model_at(folder, flavour)
    names, count = None, None
    signature = described.signature
    if signature is not None and signature.inputs is not None and signature.inputs.has_input_names():
        names = list(signature.inputs.input_names())
        count = len(names)
    by_object = _declared_by_object(model) if flavour != PYFUNC else DeclaredInputs(None, None)
    version = (described.metadata or {}).get("feature_set_version")
    declared = DeclaredInputs(names or by_object.names, count or by_object.count, str(version) if version else None)
    return ExternalModel(flavour, 1, model, model if flavour != PYFUNC else folder), declared


def _declared_by_object(model: Any) -> DeclaredInputs:
    """Feature names and count a fitted scikit-learn-style estimator or LightGBM booster remembers."""
    if hasattr(model, "feature_name") and callable(model.feature_name):  # lightgbm.Booster
        names = list(model.feature_name())
        return DeclaredInputs(names, int(model.num_feature()))
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_name_", None)  # LGBMRegressor
    count = getattr(model, "n_features_in_", None)
    return DeclaredInputs([str(name) for name in names] if names is not None else None,
                          int(count) if count is not None else None)


def _keras_model(path: Path, feature_names: Sequence[str], max_lag: int) -> ExternalModel:
    model = load_model_at(path, KERAS)
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 3 or shape[2] != len(feature_names):
        raise ExternalModelMismatch(
            f"{path.name} takes inputs {shape}; expected (None, lag, {len(feature_names)}) over "
            f"the features {list(feature_names)}"
        )
    lag = int(shape[1])
    if lag > max_lag:
        raise ValueError(f"the model looks back {lag} candles; raise TRAINING_LAG_WINDOW to at least that")
    return ExternalModel(KERAS, lag, model, model)
