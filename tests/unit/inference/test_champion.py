"""Following the champion alias: load once per move, refuse what this service cannot serve."""

from __future__ import annotations

import time

from inference.champion import ChampionWatcher
from unit.inference.linear_models import InMemoryChampions, LinearModel


def registry_with(*models: LinearModel) -> InMemoryChampions:
    registry = InMemoryChampions("m")
    for model in models:
        registry.register(model)
    return registry


def test_no_champion_means_nothing_to_serve():
    watcher = ChampionWatcher(registry_with(LinearModel("m", "1", 1.0)), "1m", 5, poll_seconds=60)
    assert watcher.load_now() is None


def test_each_move_of_the_alias_is_loaded_once():
    registry = registry_with(LinearModel("m", "1", 1.0), LinearModel("m", "2", 2.0))
    registry.set_champion("1")
    watcher = ChampionWatcher(registry, "1m", 5, poll_seconds=60)
    first = watcher.load_now()
    assert first is not None and first.model.version == "1"
    watcher.check()
    assert watcher.take_ready() is None and registry.loads == 1
    registry.set_champion("2")
    watcher.check()
    ready = watcher.take_ready()
    assert ready is not None and ready.model.version == "2"
    assert watcher.take_ready() is None  # handed over once


def test_champion_of_another_horizon_is_refused_and_not_retried():
    registry = registry_with(LinearModel("m", "1", 1.0, horizon=10))
    registry.set_champion("1")
    watcher = ChampionWatcher(registry, "1m", 5, poll_seconds=60)
    assert watcher.load_now() is None
    watcher.check()
    assert registry.loads == 1


def test_background_thread_loads_the_new_champion():
    registry = registry_with(LinearModel("m", "1", 1.0), LinearModel("m", "2", 2.0))
    registry.set_champion("1")
    watcher = ChampionWatcher(registry, "1m", 5, poll_seconds=0.05)
    watcher.load_now()
    watcher.start()
    try:
        registry.set_champion("2")
        deadline = time.monotonic() + 10
        ready = None
        while ready is None and time.monotonic() < deadline:
            ready = watcher.take_ready()
            time.sleep(0.02)
    finally:
        watcher.stop()
    assert ready is not None and ready.model.version == "2"
