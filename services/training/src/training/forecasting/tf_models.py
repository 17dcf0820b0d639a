"""TensorFlow fits of the neural forecasters; their weights go into numpy forecasters for serving.

TensorFlow is imported inside the functions: it costs seconds, and only a session that trains
these models needs it.
"""

from __future__ import annotations

import numpy as np
import structlog

from tickcast.forecast.fitdata import FitData
from tickcast.forecast.learned import HarFeaturesVolatility
from tickcast.forecast.mlp import Dense, MlpQuantiles, MlpVolatility, standardized_inputs
from tickcast.forecast.quantiles import LEVELS

log = structlog.get_logger(__name__)

HIDDEN = 16


def _rows(features: HarFeaturesVolatility, data: FitData, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = standardized_inputs(features, data.history)[data.rows]
    keep = np.isfinite(x).all(axis=1) & np.isfinite(target)
    return x[keep].astype(np.float32), target[keep].astype(np.float32)


def _dense_layers(model: object) -> list[Dense]:
    layers = []
    for layer in model.layers:  # type: ignore[attr-defined]
        weights = layer.get_weights()
        if len(weights) == 2:
            activation = layer.get_config().get("activation", "linear")
            layers.append(Dense(weights[0].astype(np.float64), weights[1].astype(np.float64), activation))
    return layers


def _fit(model: object, loss: object, x: np.ndarray, y: np.ndarray, vx: np.ndarray, vy: np.ndarray,
         seed: int, epochs: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)  # type: ignore[attr-defined]
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model.fit(x, y, validation_data=(vx, vy), epochs=epochs, batch_size=1024, verbose=0,  # type: ignore[attr-defined]
              callbacks=[stop], shuffle=True)


def fit_mlp_volatility(features: HarFeaturesVolatility, train: FitData, validation: FitData, seed: int = 42,
                       epochs: int = 6) -> MlpVolatility:
    """ln deseasonalised variance from the HAR features; QLIKE loss: y e^-f + f."""
    import keras
    import tensorflow as tf

    def target(data: FitData) -> np.ndarray:
        seasonal = features.profile.over_horizon(data.history, data.horizon)[data.rows]
        y = data.per_candle_variance() / seasonal
        return np.where(y > 0, y, np.nan)

    x, y = _rows(features, train, target(train))
    vx, vy = _rows(features, validation, target(validation))
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(HIDDEN, activation="relu"),
                              keras.layers.Dense(1)])
    model.layers[-1].bias.assign(np.array([np.log(np.mean(y))], dtype=np.float32))
    scale = float(np.mean(y))

    def qlike(true: tf.Tensor, predicted: tf.Tensor) -> tf.Tensor:
        # Both (batch, 1): keep them so, or the product broadcasts to (batch, batch).
        ratio = true / scale
        return tf.reduce_mean(ratio * tf.exp(-predicted + np.log(scale)) + predicted - np.log(scale))

    _fit(model, qlike, x, y[:, None], vx, vy[:, None], seed, epochs)
    fitted = MlpVolatility(train.horizon, features, _dense_layers(model), 1.0)
    predicted = fitted.variance(validation.history)[validation.rows]
    realized = validation.per_candle_variance()
    ok = np.isfinite(predicted) & np.isfinite(realized) & (realized > 0)
    return MlpVolatility(train.horizon, features, fitted.layers, float(np.mean(realized[ok] / predicted[ok])))


def fit_mlp_quantiles(volatility: object, features: HarFeaturesVolatility, train: FitData, validation: FitData,
                      seed: int = 42, epochs: int = 6) -> MlpQuantiles:
    """Quantiles of z = return / forecast volatility, pinball loss over ``LEVELS``, non-crossing outputs."""
    import keras
    import tensorflow as tf

    def target(data: FitData) -> np.ndarray:
        sigma = np.sqrt(data.horizon * volatility.variance(data.history)[data.rows])  # type: ignore[attr-defined]
        return data.log_return() / sigma

    x, z = _rows(features, train, target(train))
    vx, vz = _rows(features, validation, target(validation))
    levels = tf.constant(np.asarray(LEVELS, dtype=np.float32))[None, :]

    def pinball(true: tf.Tensor, raw: tf.Tensor) -> tf.Tensor:
        quantiles = tf.concat([raw[:, :1], raw[:, :1] + tf.cumsum(tf.nn.softplus(raw[:, 1:]), axis=1)], axis=1)
        error = true - quantiles
        return tf.reduce_mean(tf.maximum(levels * error, (levels - 1) * error))

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(HIDDEN, activation="relu"),
                              keras.layers.Dense(len(LEVELS))])
    # Start at the training quantiles of z: the first level, then the log of each gap's softplus inverse.
    start = np.quantile(z, LEVELS)
    gaps = np.maximum(np.diff(start), 1e-3)
    model.layers[-1].bias.assign(np.concatenate([[start[0]], np.log(np.expm1(gaps))]).astype(np.float32))
    _fit(model, pinball, x, z[:, None], vx, vz[:, None], seed, epochs)
    return MlpQuantiles(train.horizon, volatility, features, _dense_layers(model))
