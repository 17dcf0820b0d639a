"""Every knob of the training service, from the environment (see ``.env.example``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tickcast.intervals import interval_ms
from tickcast.registry.settings import RegistrySettings
from tickcast.settings import ServiceSettings

MODEL_KINDS = ("mlp", "conv", "lstm", "ridge", "lasso", "huber", "lightgbm")


class TrainingSettings(ServiceSettings):
    """``TRAINING_*``: what to train on, how, and how strict the champion gate is."""

    model_config = SettingsConfigDict(env_prefix="TRAINING_", env_file=".env", extra="ignore")

    symbols: str = Field("BTCUSDT", description="Comma-separated symbols trained together (one model).")
    interval: str = Field("1m", description="Candle interval of the features.")
    horizons: str = Field("5", description="Comma-separated horizons in candles; the first is the primary one.")
    forecast_horizons: str = Field(
        "1,5,15,60", description="Horizons (candles) of the distribution, volatility and p_up forecasters; "
        "--horizons overrides them for one command.")
    dead_band: float = Field(0.0005, ge=0, description="|log return| at or under this is the 'flat' direction class.")
    lag_window: int = Field(16, ge=1, description="Feature vectors seen by the conv and LSTM models.")
    models: str = Field("mlp,conv,lstm", description="Comma-separated model kinds to train: mlp, conv, lstm (Keras), "
                        "ridge, lasso, huber (scikit-learn), lightgbm.")
    exclude_features: str = Field(
        "atr_14,macd,macd_signal,macd_hist,day_of_week_sin,day_of_week_cos",
        description="Comma-separated features not fed to models. Default: those in price units (their range "
        "moves with the price level, so test values fall outside what training saw) and the day of week "
        "(a training period of weeks sees each weekday a few times: a model learns those days' drifts).",
    )
    validation_fraction: float = Field(0.15, gt=0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0, lt=0.5)
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(512, ge=8)
    patience: int = Field(4, ge=1, description="Epochs without validation improvement before stopping.")
    learning_rate: float = Field(1e-3, gt=0)
    time_budget_s: float = Field(300.0, gt=0, description="Wall-clock budget of one model's fit, seconds.")
    seed: int = 42
    ema_span: int = Field(20, ge=2, description="Span (candles) of the EMA-drift baseline.")
    fee_bps: float = Field(10.0, ge=0, description="Backtest fee per position change, basis points.")
    gate_margin: float = Field(
        0.0, ge=0, lt=1, description="Relative MAE improvement over persistence required to promote."
    )
    gate_alpha: float = Field(
        0.05, gt=0, lt=1, description="Significance level of the paired test candidate vs persistence."
    )
    output_dir: Path = Field(
        default_factory=lambda fields: fields["tickcast_home"] / "training",
        description="Plots and reports before they are logged; default $TICKCAST_HOME/training.",
    )
    registry: RegistrySettings = Field(default_factory=RegistrySettings)

    def symbol_list(self) -> list[str]:
        return [part.strip().upper() for part in self.symbols.split(",") if part.strip()]

    def horizon_list(self) -> list[int]:
        horizons = [int(part) for part in self.horizons.split(",") if part.strip()]
        if not horizons or min(horizons) < 1:
            raise ValueError(f"TRAINING_HORIZONS must list positive integers, got {self.horizons!r}")
        return horizons

    def forecast_horizon_list(self) -> list[int]:
        horizons = [int(part) for part in self.forecast_horizons.split(",") if part.strip()]
        if not horizons or min(horizons) < 1:
            raise ValueError(f"TRAINING_FORECAST_HORIZONS must list positive integers, got {self.forecast_horizons!r}")
        return horizons

    def excluded_features(self) -> list[str]:
        return [part.strip() for part in self.exclude_features.split(",") if part.strip()]

    def model_kinds(self) -> list[str]:
        kinds = [part.strip().lower() for part in self.models.split(",") if part.strip()]
        unknown = sorted(set(kinds) - set(MODEL_KINDS))
        if unknown or not kinds:
            raise ValueError(f"unknown model kind(s) {unknown}: expected some of {MODEL_KINDS}")
        return kinds

    def interval_ms(self) -> int:
        return interval_ms(self.interval)
