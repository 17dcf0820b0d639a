"""Feature frames made by the real feature code (``tickcast.features``) from generated candles."""

from __future__ import annotations

import pandas as pd

from tickcast.features import compute_history
from training.config import TrainingSettings
from training.data.dataset import PreparedDataset, prepare_dataset
from training.data.synthetic import Process, synthetic_candles

START_MS = 1_704_067_200_000  # 2024-01-01T00:00Z


def generated_feature_frame(process: Process, candles: int, phi: float = 0.6, seed: int = 11) -> pd.DataFrame:
    """One symbol of 1-minute candles; the first day only warms the hourly features up."""
    history = synthetic_candles("BTCUSDT", "1m", START_MS, candles, process, phi=phi, seed=seed)
    return compute_history(history.drop(columns=["source"]))


def prepared_dataset(settings: TrainingSettings, process: Process, candles: int) -> PreparedDataset:
    """``generated_feature_frame`` split and windowed as ``settings`` says, as a session does."""
    return prepare_dataset(
        generated_feature_frame(process, candles), settings.horizon_list(), settings.dead_band, settings.interval,
        settings.interval_ms(), settings.lag_window, settings.validation_fraction, settings.test_fraction,
        settings.excluded_features(),
    )
