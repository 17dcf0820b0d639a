"""A trained model on disk: the model (Keras file or MLflow model folder), its scaler and what it expects.

The same folder is what the registry stores (as MLflow artifacts or Hopsworks model
files), so a model loaded back is byte-for-byte the one that was evaluated.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tickcast.model_bundle import flavours
from tickcast.model_bundle.flavours import KERAS, MODEL_FILE
from tickcast.model_bundle.scaling import Scaler

SCALER_FILE = "scaler.json"
METADATA_FILE = "metadata.json"
BUNDLE_FILES = (MODEL_FILE, SCALER_FILE, METADATA_FILE)  # of a Keras bundle
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BundleMetadata:
    """Everything needed to feed the model the right columns in the right order."""

    kind: str  # mlp, conv, lstm, ridge, lasso, huber, lightgbm, or the flavour of a model trained elsewhere
    symbols: list[str]
    interval: str
    horizons: list[int]  # the first is the primary horizon
    lag_window: int
    feature_names: list[str]
    feature_set_version: str
    dead_band: float
    format_version: int = FORMAT_VERSION
    flavour: str = KERAS  # how the model is stored and called (tickcast.model_bundle.flavours)

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


def save_bundle(
    folder: Path, model: Any, scaler: Scaler, metadata: BundleMetadata, example_windows: Any = None
) -> Path:
    """Write model, scaler and metadata into ``folder`` (created) and return it.

    ``example_windows`` (raw, a few rows) give an MLflow-flavoured model its signature.
    """
    if list(scaler.feature_names) != metadata.feature_names:
        raise ValueError("scaler and metadata disagree on the feature columns")
    folder.mkdir(parents=True, exist_ok=True)
    described = {
        "feature_names": list(metadata.feature_names),
        "feature_set_version": metadata.feature_set_version,
        "horizons": list(metadata.horizons),
        "interval": metadata.interval,
        "inputs": "features standardised by the bundle's scaler.json; outputs are returns divided by its target_scale",
    }
    example = scaler.transform(example_windows) if example_windows is not None else None
    flavours.save_model(folder, model, metadata.flavour, metadata.feature_names, described, example)
    scaler.save(folder / SCALER_FILE)
    (folder / METADATA_FILE).write_text(metadata.to_json())
    return folder


def read_bundle_metadata(folder: Path) -> tuple[BundleMetadata, Scaler]:
    """The JSON parts of a bundle, without loading the model."""
    missing = [name for name in (SCALER_FILE, METADATA_FILE) if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(f"model bundle {folder} lacks {missing}")
    metadata = BundleMetadata.from_json((folder / METADATA_FILE).read_text())
    if not flavours.model_path(folder, metadata.flavour).exists():
        raise FileNotFoundError(f"model bundle {folder} lacks its {metadata.flavour} model")
    return metadata, Scaler.load(folder / SCALER_FILE)


def find_bundle(root: Path) -> Path:
    """The bundle folder somewhere under ``root`` (a downloaded registry artifact)."""
    found = next(root.rglob(METADATA_FILE), None)
    if found is None:
        raise FileNotFoundError(f"no model bundle ({METADATA_FILE}) under {root}")
    return found.parent


def load_keras_model(path: Path) -> Any:
    return flavours.load_model_at(path, KERAS)
