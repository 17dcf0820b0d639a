"""The labelled dataset as a file, for people who train on their own machine.

Rows keep their ``split`` (train, validation, test, or gap), so a model
trained elsewhere can respect the same time split, and the training-part scaler is
written beside the file so ``register --scaler`` applies exactly what was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.data.dataset import PreparedDataset
from training.models.trainer import fit_scaler


@dataclass(frozen=True)
class Written:
    rows: int
    columns: int
    scaler_path: Path


def write_dataset(data: PreparedDataset, out: Path, file_format: str) -> Written:
    frame = data.with_split_column()
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        frame.to_csv(out, index=False)
    elif file_format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out)
    else:
        raise ValueError(f"unknown format {file_format!r}: expected csv or parquet")
    scaler_path = out.with_name(out.stem + ".scaler.json")
    fit_scaler(data).save(scaler_path)
    return Written(len(frame), len(frame.columns), scaler_path)
