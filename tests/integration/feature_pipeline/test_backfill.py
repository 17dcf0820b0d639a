"""``python -m feature_pipeline backfill`` from real kline dump files into a real Feast repository."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from feature_pipeline.backfill import run_backfill
from tickcast.store.loaders import DumpFileLoader
from tickcast.store.feast_store import FeastFeatureStore
from integration.feature_pipeline.harness import (
    KLINES_DIR,
    ROOT,
    assert_features_equal,
    pipeline_env,
    real_klines,
)
from tickcast.features import compute_history
from tickcast.settings import RedisSettings

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


def test_backfill_command_fills_the_offline_store_with_the_stream_features_and_can_rerun(
    redis_settings: RedisSettings, namespace: str, tmp_path: Path
) -> None:
    candles = real_klines("BTCUSDT-1m-2024-01-0[1-5].zip")  # 3..5 backfilled, 1..2 are warm-up
    data_dir = KLINES_DIR.parents[4]
    command = [
        sys.executable,
        "-m",
        "feature_pipeline",
        "backfill",
        "--symbols",
        "btcusdt",
        "--start",
        "2024-01-03",
        "--end",
        "2024-01-05",
        "--data-dir",
        str(data_dir),
    ]
    env = pipeline_env(tmp_path, namespace)
    first = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "backfilled 4,320 feature rows" in first.stdout
    assert "backfill" in first.stderr and "candle" in first.stderr  # the progress bar

    store = FeastFeatureStore(Path(env["FEAST_REPO_PATH"]), env["FEAST_PROJECT"], redis_settings.url)
    start_ms = int(candles["open_time_ms"].iloc[0]) + 2 * DAY_MS
    offline = store.read_offline(["BTCUSDT"], "1m", 0, 2**62)
    expected = compute_history(candles)
    expected = expected[expected["timestamp_ms"] >= start_ms]
    assert offline["timestamp_ms"].iloc[0] == start_ms and len(offline) == 3 * 1440
    assert_features_equal(offline, expected, tolerance=0.0)  # same code, same blocks: identical

    # Re-running (the same days and one more) upserts: no row twice.
    report = run_backfill(
        DumpFileLoader(data_dir), store, ["BTCUSDT"], "1m", date(2024, 1, 4), date(2024, 1, 6)
    )
    assert report.rows == 3 * 1440
    offline = store.read_offline(["BTCUSDT"], "1m", 0, 2**62)
    assert len(offline) == 4 * 1440 and offline["timestamp_ms"].is_unique


def test_backfill_of_a_symbol_without_files_writes_nothing(
    redis_settings: RedisSettings, tmp_path: Path
) -> None:
    store = FeastFeatureStore(tmp_path / "feast", "empty", redis_settings.url)
    report = run_backfill(
        DumpFileLoader(tmp_path), store, ["ETHUSDT"], "1m", date(2024, 1, 1), date(2024, 1, 2)
    )
    assert report.rows == 0 and store.read_offline(["ETHUSDT"], "1m", 0, 2**62).empty
