"""The registered model as an MLflow pyfunc, so ``mlflow.pyfunc.load_model`` serves it too.

Training and inference load the bundle folder directly (:mod:`tickcast.serving`);
this wrapper is what other MLflow tooling sees: same files, same predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlflow.pyfunc import PythonModel
import numpy as np

from tickcast.model_bundle.bundle import METADATA_FILE
from tickcast.model_bundle.servable import ServableModel


class TickcastPyfunc(PythonModel):  # type: ignore[misc]
    """Raw windows (n, lag_window, n_features) in, predicted primary-horizon log returns (n,) out."""

    def load_context(self, context: Any) -> None:
        folder = Path(context.artifacts[METADATA_FILE]).parent
        self._model = ServableModel.from_bundle(folder, name="pyfunc", version="0")

    def predict(self, context: Any, model_input: np.ndarray, params: dict[str, Any] | None = None) -> np.ndarray:
        return self._model.predict(np.asarray(model_input, dtype=np.float32))


def bundle_artifacts(bundle_dir: Path) -> dict[str, str]:
    """Every file and folder of the bundle (a flavoured MLflow model is a folder), by its name."""
    return {entry.name: str(entry) for entry in sorted(bundle_dir.iterdir())}
