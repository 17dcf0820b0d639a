"""Training cost on this machine: a year of 1-minute candles for one symbol, and the real-kline report.

    uv run python bench/bench_training.py year   [--days 365] [--models mlp,conv,lstm]
    uv run python bench/bench_training.py klines [--start 2024-01-01 --end 2024-04-01]

``year`` generates candles (the real data here covers six months), computes features
with the shared feature code, builds the dataset and fits each model kind with the
default settings (epochs, batch size, time budget), printing seconds per stage and per
epoch. ``klines`` runs the full report (every model vs the baselines) on the shared
Binance klines beside the repository, into a throw-away MLflow under bench/out/.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_KLINES = ROOT / ".." / "shared" / "data" / "binance"
OUT = ROOT / "bench" / "out" / "training"


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def bench_year(days: int, kinds: list[str]) -> None:
    from tickcast.features import compute_history
    from training.config import TrainingSettings
    from training.data.dataset import prepare_dataset
    from training.models.networks import build_model, fit_model, lag_for
    from training.pipeline import fit_settings
    from training.data.synthetic import synthetic_candles
    from training.models.trainer import fit_scaler, training_arrays

    settings = TrainingSettings()
    n = days * 1440 + 1440
    started = time.perf_counter()
    candles = synthetic_candles("BTCUSDT", "1m", 1_704_067_200_000, n, "ar1", phi=0.2)
    features = compute_history(candles.drop(columns=["source"]))
    t_features = time.perf_counter() - started
    started = time.perf_counter()
    data = prepare_dataset(
        features, settings.horizon_list(), settings.dead_band, "1m", 60_000, settings.lag_window,
        settings.validation_fraction, settings.test_fraction, settings.excluded_features(),
    )
    t_prepare = time.perf_counter() - started
    print(f"candles {n:,}  feature rows {len(features):,}  train/val/test {len(data.train):,}/"
          f"{len(data.validation):,}/{len(data.test):,}  features {len(data.feature_names)}")
    print(f"features computed in {t_features:.1f} s; dataset (labels, split, windows) in {t_prepare:.1f} s; "
          f"peak RSS {_rss_gb():.2f} GB")
    scaler = fit_scaler(data)
    print(f"defaults: epochs {settings.epochs}, batch {settings.batch_size}, patience {settings.patience}, "
          f"budget {settings.time_budget_s:.0f} s per model")
    total = 0.0
    for kind in kinds:
        lag = lag_for(kind, data.lag_window)
        train, validation = training_arrays(data.train, scaler, lag), training_arrays(data.validation, scaler, lag)
        model = build_model(kind, lag, len(data.feature_names), len(data.horizons), settings.seed,
                            settings.learning_rate)
        report = fit_model(model, train, validation, fit_settings(settings, show_progress=True))
        total += report.seconds
        per_epoch = report.seconds / max(report.epochs_run, 1)
        print(f"{kind:5s} fit {report.seconds:7.1f} s  epochs {report.epochs_run:3d} ({report.stopped_by})  "
              f"{per_epoch:6.1f} s/epoch  full {settings.epochs} epochs would take {per_epoch * settings.epochs:7.1f} s")
    print(f"all fits: {total:.1f} s (+ features {t_features:.1f} s + dataset {t_prepare:.1f} s); "
          f"peak RSS {_rss_gb():.2f} GB")


def bench_klines(start: date, end: date, kinds: str) -> None:
    if not SHARED_KLINES.is_dir():
        raise SystemExit(f"shared klines not found at {SHARED_KLINES}")
    import os

    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TICKCAST_HOME", str(OUT))
    os.environ.setdefault("TRAINING_OUTPUT_DIR", str(OUT / "sessions"))
    from training.config import TrainingSettings
    from training.data.dataset import prepare_dataset
    from training.pipeline import run_session
    from tickcast.registry import make_registry
    from training.data.sources import from_kline_files
    from training.tracking import RunTracker

    settings = TrainingSettings(models=kinds)
    started = time.perf_counter()
    frame = from_kline_files(SHARED_KLINES, settings.symbol_list(), "1m", start, end)
    data = prepare_dataset(
        frame, settings.horizon_list(), settings.dead_band, "1m", 60_000, settings.lag_window,
        settings.validation_fraction, settings.test_fraction, settings.excluded_features(),
    )
    t_data = time.perf_counter() - started
    started = time.perf_counter()
    result = run_session(settings, data, make_registry(settings.registry), RunTracker(settings.registry),
                         kinds=settings.model_kinds(), apply_gate=False)
    t_session = time.perf_counter() - started
    print(f"\nBTCUSDT 1m {start} .. {end}: {len(frame):,} rows, train/val/test "
          f"{len(data.train):,}/{len(data.validation):,}/{len(data.test):,}")
    print(result.table)
    print(f"\ndata {t_data:.1f} s, session (fits, evaluation, MLflow) {t_session:.1f} s; MLflow run "
          f"{result.session_run_id} in {settings.registry.tracking_uri().replace(str(ROOT) + '/', '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    year = sub.add_parser("year")
    year.add_argument("--days", type=int, default=365)
    year.add_argument("--models", default="mlp,conv,lstm")
    klines = sub.add_parser("klines")
    klines.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 2))
    klines.add_argument("--end", type=date.fromisoformat, default=date(2024, 4, 1))
    klines.add_argument("--models", default="mlp,conv,lstm")
    args = parser.parse_args()
    from tickcast.logging import configure_logging

    configure_logging("WARNING")
    if args.what == "year":
        bench_year(args.days, args.models.split(","))
    else:
        bench_klines(args.start, args.end, args.models)


if __name__ == "__main__":
    main()
