"""A trained model on disk: the Keras file, its scaler and what it expects, in one folder.

The same folder is what the registry stores (as MLflow artifacts or Hopsworks model
files), so a model loaded back is byte-for-byte the one that was evaluated.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tickcast.model_bundle.scaling import Scaler

MODEL_FILE = "model.keras"
SCALER_FILE = "scaler.json"
METADATA_FILE = "metadata.json"
BUNDLE_FILES = (MODEL_FILE, SCALER_FILE, METADATA_FILE)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BundleMetadata:
    """Everything needed to feed the model the right columns in the right order."""

    kind: str  # mlp, conv, lstm or "keras" for a model trained elsewhere
    symbols: list[str]
    interval: str
    horizons: list[int]  # the first is the primary horizon
    lag_window: int
    feature_names: list[str]
    feature_set_version: str
    dead_band: float
    format_version: int = FORMAT_VERSION

    @property
    def horizon(self) -> int:
        return self.horizons[0]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> BundleMetadata:
        raw: dict[str, Any] = json.loads(text)
        if raw.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"model bundle format {raw.get('format_version')!r}, this build reads {FORMAT_VERSION}")
        return cls(**raw)


def save_bundle(folder: Path, keras_model: Any, scaler: Scaler, metadata: BundleMetadata) -> Path:
    """Write the three bundle files into ``folder`` (created) and return it."""
    if list(scaler.feature_names) != metadata.feature_names:
        raise ValueError("scaler and metadata disagree on the feature columns")
    folder.mkdir(parents=True, exist_ok=True)
    keras_model.save(folder / MODEL_FILE)
    scaler.save(folder / SCALER_FILE)
    (folder / METADATA_FILE).write_text(metadata.to_json())
    return folder


def read_bundle_metadata(folder: Path) -> tuple[BundleMetadata, Scaler]:
    """The JSON parts of a bundle, without loading Keras."""
    missing = [name for name in BUNDLE_FILES if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(f"model bundle {folder} lacks {missing}")
    return BundleMetadata.from_json((folder / METADATA_FILE).read_text()), Scaler.load(folder / SCALER_FILE)


def load_keras_model(path: Path) -> Any:
    import keras  # imported here: ~10 s, only for code that trains or predicts

    return keras.saving.load_model(path, compile=False)
