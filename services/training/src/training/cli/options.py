"""The options that the commands of ``python -m training`` share: data source, period and model scope.

They are declared once here; ``dataset_options`` and ``scope_options`` add them to a command's signature
(so typer shows them in ``--help``) and hand the command one ``DatasetOptions`` or ``Scope`` value instead
of a dozen loose parameters.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from tickcast.intervals import interval_ms
from tickcast.logging import configure_logging
from training.config import TrainingSettings


class Source(StrEnum):
    store = "store"
    klines = "klines"
    synthetic = "synthetic"


SourceOpt = Annotated[Source, typer.Option(help="store: offline feature store; klines: exchange kline files; "
                                           "synthetic: generated candles (demos only).")]
StartOpt = Annotated[str | None, typer.Option(help="First UTC day, YYYY-MM-DD (default: --lookback before now).")]
EndOpt = Annotated[str | None, typer.Option(help="UTC day after the last one, YYYY-MM-DD (default: today).")]
LookbackOpt = Annotated[str, typer.Option(help="Range when --start is not given, e.g. 30d.")]
KlinesOpt = Annotated[Path | None, typer.Option(help="Folder of kline files (Binance data-dump layout).")]
SymbolsOpt = Annotated[str | None, typer.Option(help="Comma-separated symbols [TRAINING_SYMBOLS].")]
IntervalOpt = Annotated[str | None, typer.Option(help="Candle interval [TRAINING_INTERVAL].")]
HorizonsOpt = Annotated[str | None, typer.Option(help="Comma-separated horizons, first is primary [TRAINING_HORIZONS].")]
ProcessOpt = Annotated[str, typer.Option(help="Synthetic source only: ar1 (learnable) or random_walk.")]
CandlesOpt = Annotated[int, typer.Option(help="Synthetic source only: candles per symbol.")]
NameOpt = Annotated[str | None, typer.Option(help="Registered model name (default: from symbols, interval, horizon).")]


def make_settings(**overrides: Any) -> TrainingSettings:
    """Settings from the environment, with the options the user actually gave on top."""
    settings = TrainingSettings(**{key: value for key, value in overrides.items() if value is not None})
    configure_logging(settings.log_level, settings.log_format, service="training")
    return settings


def day_range(start: str | None, end: str | None, lookback: str) -> tuple[date, date]:
    last = date.fromisoformat(end) if end else datetime.now(UTC).date() + timedelta(days=1)
    first = date.fromisoformat(start) if start else last - timedelta(milliseconds=interval_ms(lookback))
    if first >= last:
        raise typer.BadParameter(f"empty range {first} .. {last}")
    return first, last


@dataclass(frozen=True)
class DatasetSource:
    """Where a command's candles come from and over which period."""

    source: Source = Source.store
    start: str | None = None
    end: str | None = None
    lookback: str = "30d"
    klines_dir: Path | None = None
    process: str = "ar1"
    candles: int = 20_000

    def frame(self, settings: TrainingSettings) -> Any:
        """The feature frame of the settings' symbols and interval; an empty one is a usage error."""
        from training.data import sources

        symbols, interval = settings.symbol_list(), settings.interval
        if self.source == Source.synthetic:
            frame = sources.from_synthetic(symbols, interval, self.candles, self.process, settings.seed)
        else:
            first, last = day_range(self.start, self.end, self.lookback)
            if self.source == Source.klines:
                if self.klines_dir is None:
                    raise typer.BadParameter("--klines-dir is required with --source klines")
                frame = sources.from_kline_files(self.klines_dir, symbols, interval, first, last)
            else:
                frame = sources.from_feature_store(symbols, interval, sources.utc_ms(first), sources.utc_ms(last))
        if frame.empty:
            raise typer.BadParameter(f"no features for {symbols} {interval} in that range ({self.source.value})")
        return frame

    def prepare(self, settings: TrainingSettings) -> Any:
        """The labelled, split dataset built from ``frame``."""
        from training.data.dataset import prepare_dataset

        return prepare_dataset(
            self.frame(settings), settings.horizon_list(), settings.dead_band, settings.interval,
            settings.interval_ms(), settings.lag_window, settings.validation_fraction, settings.test_fraction,
            settings.excluded_features(),
        )


@dataclass(frozen=True)
class Scope:
    """Which models a command is about: --symbols, --interval and --horizons over the environment."""

    symbols: str | None = None
    interval: str | None = None
    horizons: str | None = None

    def settings(self, **overrides: Any) -> TrainingSettings:
        return make_settings(symbols=self.symbols, interval=self.interval, horizons=self.horizons, **overrides)


@dataclass(frozen=True)
class DatasetOptions(Scope):
    """What a dataset-building command was given: the scope of its settings and the data source."""

    data: DatasetSource = DatasetSource()

    def frame(self, settings: TrainingSettings) -> Any:
        return self.data.frame(settings)

    def prepare(self, settings: TrainingSettings) -> Any:
        return self.data.prepare(settings)


# The shared options in --help order; the command's own keyword-only options go between the two groups.
_SCOPE: dict[str, Any] = {"symbols": SymbolsOpt, "interval": IntervalOpt, "horizons": HorizonsOpt}
_SOURCE: dict[str, Any] = {
    "source": SourceOpt, "start": StartOpt, "end": EndOpt, "lookback": LookbackOpt, "klines_dir": KlinesOpt,
}
_SYNTHETIC: dict[str, Any] = {"process": ProcessOpt, "candles": CandlesOpt}
_SOURCE_FIELDS = {field.name for field in fields(DatasetSource)}

Command = Callable[..., None]


def dataset_options(default_source: Source = Source.store) -> Callable[[Command], Command]:
    """Give a command the shared data-source options and call it with ``options: DatasetOptions``.

    The command declares ``options: DatasetOptions`` plus its own parameters: positional-or-keyword
    ones are listed in --help before the shared options, keyword-only ones (after ``*``) between
    --horizons and --process, as the commands always listed them.
    """
    defaults = DatasetSource(source=default_source)

    def build(given: dict[str, Any]) -> DatasetOptions:
        data = DatasetSource(**{name: given.pop(name) for name in _SOURCE_FIELDS})
        return DatasetOptions(**{name: given.pop(name) for name in _SCOPE}, data=data)

    return _with_options(_SOURCE | _SCOPE, _SYNTHETIC, defaults, build)


def scope_options() -> Callable[[Command], Command]:
    """Give a command --symbols, --interval and --horizons (after its own options) as ``options: Scope``."""

    def build(given: dict[str, Any]) -> Scope:
        return Scope(**{name: given.pop(name) for name in _SCOPE})

    return _with_options(_SCOPE, {}, DatasetSource(), build)


def _with_options(
    leading: dict[str, Any],
    trailing: dict[str, Any],
    defaults: DatasetSource,
    build: Callable[[dict[str, Any]], Scope],
) -> Callable[[Command], Command]:
    """Add ``leading`` after the command's positional-or-keyword parameters and ``trailing`` after its
    keyword-only ones; ``build`` turns the given shared values into the command's ``options``."""

    def shared(name: str, annotation: Any) -> inspect.Parameter:
        default = getattr(defaults, name) if name in _SOURCE_FIELDS else None
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)

    def decorate(command: Command) -> Command:
        hints = get_type_hints(command, include_extras=True)
        own = [param.replace(annotation=hints[param.name]) for param in inspect.signature(command).parameters.values()
               if param.name != "options"]
        leading_own = [param.replace(kind=inspect.Parameter.KEYWORD_ONLY) for param in own
                       if param.kind is not inspect.Parameter.KEYWORD_ONLY]
        keyword_own = [param for param in own if param.kind is inspect.Parameter.KEYWORD_ONLY]
        parameters = (leading_own + [shared(name, hint) for name, hint in leading.items()] + keyword_own
                      + [shared(name, hint) for name, hint in trailing.items()])

        @functools.wraps(command)
        def run(**given: Any) -> None:
            options = build(given)  # takes the shared options out of ``given``
            command(options=options, **given)

        # typer reads the signature and the annotations, so both describe the options it must offer.
        run.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
        run.__annotations__ = {param.name: param.annotation for param in parameters} | {"return": None}
        return run

    return decorate
