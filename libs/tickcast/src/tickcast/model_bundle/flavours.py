"""How each kind of model is stored in a bundle, loaded back and called.

A Keras model is one ``model.keras`` file. Every other kind is an MLflow model folder
(``mlflow_model/``) in its own flavour: ``sklearn`` (Ridge, Lasso, Huber, or any
scikit-learn regressor), ``lightgbm``, or a generic ``pyfunc`` brought from elsewhere.
Those *tabular* models see the newest feature vector as one named row per window
(lag 1) and predict one column per horizon. scikit-learn, LightGBM and MLflow are
imported only when such a model is saved or loaded, so a Keras-only server never pays
for them.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

KERAS = "keras"
SKLEARN = "sklearn"
LIGHTGBM = "lightgbm"
PYFUNC = "pyfunc"
FLAVOURS = (KERAS, SKLEARN, LIGHTGBM, PYFUNC)
TABULAR_FLAVOURS = (SKLEARN, LIGHTGBM, PYFUNC)

MODEL_FILE = "model.keras"
MLFLOW_MODEL_DIR = "mlflow_model"

# Pinned so saving does not spend seconds inferring requirements by importing the model.
REQUIREMENTS = {
    KERAS: ["tensorflow-cpu", "keras>=3"],
    SKLEARN: ["scikit-learn"],
    LIGHTGBM: ["lightgbm", "scikit-learn"],
    PYFUNC: [],
}


def model_path(folder: Path, flavour: str) -> Path:
    """Where the model of ``flavour`` lives inside a bundle folder."""
    _check(flavour)
    return folder / (MODEL_FILE if flavour == KERAS else MLFLOW_MODEL_DIR)


def tabular_frame(scaled_windows: np.ndarray, feature_names: Sequence[str]) -> Any:
    """The newest vector of each window as a named row: what a tabular model was fitted on."""
    import pandas as pd

    return pd.DataFrame(np.asarray(scaled_windows)[:, -1, :], columns=list(feature_names))


def save_model(
    folder: Path,
    model: Any,
    flavour: str,
    feature_names: Sequence[str],
    metadata: Mapping[str, Any],
    example_windows: np.ndarray | None = None,
) -> Path:
    """Write ``model`` into ``folder`` in its flavour; MLflow flavours get a signature over named
    feature columns (scaled values) and ``metadata`` (feature list, feature-set version) in MLmodel.

    For ``pyfunc``, ``model`` is the path of an MLflow model folder, copied as is.
    """
    target = model_path(folder, flavour)
    if flavour == KERAS:
        model.save(target)
        return target
    if target.exists():
        shutil.rmtree(target)
    if flavour == PYFUNC:
        shutil.copytree(Path(model), target)
        return target
    from mlflow.models import infer_signature

    signature, example = None, None
    if example_windows is not None and len(example_windows):
        example = tabular_frame(example_windows, feature_names)
        signature = infer_signature(example, np.asarray(model.predict(example), dtype=np.float64))
    options = {
        "path": str(target),
        "signature": signature,
        "input_example": example,
        "metadata": dict(metadata),
        "pip_requirements": REQUIREMENTS[flavour],
    }
    if flavour == SKLEARN:
        import mlflow.sklearn

        mlflow.sklearn.save_model(model, **options)
    else:
        import mlflow.lightgbm

        mlflow.lightgbm.save_model(model, **options)
    return target


def load_model(folder: Path, flavour: str) -> Any:
    """The model of a bundle folder, in its own flavour's Python object."""
    path = model_path(folder, flavour)
    if not path.exists():
        raise FileNotFoundError(f"model bundle {folder} lacks {path.name} ({flavour} model)")
    return load_model_at(path, flavour)


def load_model_at(path: Path, flavour: str) -> Any:
    if flavour == KERAS:
        import keras  # imported here: ~10 s, only for code that trains or predicts

        return keras.saving.load_model(path, compile=False)
    if flavour == SKLEARN:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(path))
    if flavour == LIGHTGBM:
        import mlflow.lightgbm

        return mlflow.lightgbm.load_model(str(path))
    _check(flavour)
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(path))


def predict_tabular(model: Any, scaled_windows: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    """(n, lag, n_features) scaled -> (n, n_outputs) scaled returns, from the newest vector."""
    frame = tabular_frame(scaled_windows, feature_names)
    raw = model.predict(frame)
    if hasattr(raw, "to_numpy"):  # a pyfunc may answer with a DataFrame or Series
        raw = raw.to_numpy()
    return np.asarray(raw, dtype=np.float64).reshape(len(frame), -1)


def _check(flavour: str) -> None:
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown model flavour {flavour!r}: expected one of {FLAVOURS}")
