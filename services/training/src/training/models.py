"""The TensorFlow/Keras models: an MLP, a causal 1-D convolution and an LSTM.

Each takes raw-shaped windows (n, lag, n_features) of *scaled* features and has two
heads: ``returns`` (scaled forward log return per horizon) and ``direction``
(down / flat / up of the primary horizon). Keras is imported inside the functions
so that importing this module stays cheap.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import structlog

log = structlog.get_logger(__name__)

N_DIRECTIONS = 3
DIRECTION_LOSS_WEIGHT = 0.2  # the return head is what the gate judges; direction helps it a little


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    batch_size: int
    patience: int
    learning_rate: float
    time_budget_s: float
    seed: int
    show_progress: bool = True


@dataclass(frozen=True)
class TrainingArrays:
    windows: np.ndarray  # (n, lag, n_features) float32, scaled
    returns: np.ndarray  # (n, n_horizons) float32, scaled
    directions: np.ndarray  # (n,) int: 0 down, 1 flat, 2 up


@dataclass(frozen=True)
class FitReport:
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    seconds: float
    stopped_by: str  # "early_stopping", "time_budget" or "epochs"


def lag_for(kind: str, lag_window: int) -> int:
    """The MLP sees only the newest vector; the sequence models see the last ``lag_window``."""
    return 1 if kind == "mlp" else lag_window


def build_model(kind: str, lag: int, n_features: int, n_horizons: int, seed: int, learning_rate: float) -> Any:
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(lag, n_features), name="windows")
    if kind == "mlp":
        hidden = layers.Flatten()(inputs)
        hidden = layers.Dense(32, activation="relu")(hidden)
        hidden = layers.Dropout(0.1, seed=seed)(hidden)
        hidden = layers.Dense(16, activation="relu")(hidden)
    elif kind == "conv":
        # Causal padding: each position sees only itself and the past.
        hidden = layers.Conv1D(16, 3, padding="causal", activation="relu")(inputs)
        hidden = layers.Conv1D(16, 3, padding="causal", dilation_rate=2, activation="relu")(hidden)
        hidden = layers.GlobalAveragePooling1D()(hidden)
        hidden = layers.Dense(16, activation="relu")(hidden)
    elif kind == "lstm":
        hidden = layers.LSTM(16, seed=seed)(inputs)
        hidden = layers.Dense(16, activation="relu")(hidden)
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    outputs = {
        "returns": layers.Dense(n_horizons, name="returns")(hidden),
        "direction": layers.Dense(N_DIRECTIONS, activation="softmax", name="direction")(hidden),
    }
    model = keras.Model(inputs, outputs, name=f"tickcast_{kind}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        # Huber: returns are fat-tailed; a few jumps should not dominate the fit.
        loss={"returns": keras.losses.Huber(delta=1.0), "direction": keras.losses.SparseCategoricalCrossentropy()},
        loss_weights={"returns": 1.0, "direction": DIRECTION_LOSS_WEIGHT},
    )
    return model


def fit_model(model: Any, train: TrainingArrays, validation: TrainingArrays, settings: FitSettings) -> FitReport:
    """Fit with early stopping on validation loss, best weights restored, within the time budget."""
    import keras

    keras.utils.set_random_seed(settings.seed)
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=settings.patience, restore_best_weights=True
    )
    budget = _time_budget_callback(settings.time_budget_s)
    callbacks: list[Any] = [early_stopping, budget]
    if settings.show_progress:
        callbacks.append(_progress_callback(settings.epochs, model.name))
    started = time.monotonic()
    history = model.fit(
        train.windows,
        {"returns": train.returns, "direction": train.directions},
        validation_data=(validation.windows, {"returns": validation.returns, "direction": validation.directions}),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        # Mini-batches are shuffled inside the training part only; parts never mix.
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    val_losses = [float(value) for value in history.history.get("val_loss", [])]
    epochs_run = len(val_losses)
    best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else 0
    if budget.exhausted:
        stopped_by = "time_budget"
    elif epochs_run < settings.epochs:
        stopped_by = "early_stopping"
    else:
        stopped_by = "epochs"
    report = FitReport(
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        best_val_loss=min(val_losses) if val_losses else float("nan"),
        seconds=time.monotonic() - started,
        stopped_by=stopped_by,
    )
    log.info("model fitted", model=model.name, **report.__dict__)
    return report


def _time_budget_callback(budget_s: float) -> Any:
    """Stops training (after the current batch) once the wall-clock budget is spent."""
    import keras

    class TimeBudget(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.exhausted = False
            self._deadline = 0.0

        def on_train_begin(self, logs: Any = None) -> None:
            self._deadline = time.monotonic() + budget_s

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if time.monotonic() > self._deadline:
                self.exhausted = True
                self.model.stop_training = True

    return TimeBudget()


def _progress_callback(epochs: int, name: str) -> Any:
    """One tqdm bar per fit on stderr: an epoch per tick, with the losses."""
    import keras

    from tickcast.progress import progress_bar

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self._bar = progress_bar(total=epochs, desc=f"fit {name}", unit="epoch", file=sys.stderr)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            self._bar.set_postfix(loss=f"{logs.get('loss', np.nan):.4f}", val_loss=f"{logs.get('val_loss', np.nan):.4f}")
            self._bar.update(1)

        def on_train_end(self, logs: Any = None) -> None:
            self._bar.close()

    return EpochProgress()
