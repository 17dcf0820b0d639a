"""Shadow challengers: each predicts with its own windows, never in the champion's place."""

from __future__ import annotations

import pytest

from inference.challengers import Challengers
from inference.model import PersistenceBaseline
from unit.inference.linear_models import BASE_MS, InMemoryChallengers, InMemoryChampions, LinearModel, ret_for, vector

BASELINE = PersistenceBaseline(interval="1m", horizon=5)
SYMBOLS = ["BTCUSDT", "ETHUSDT"]
NOW_MS = BASE_MS + 3_600_000


def registry_with(*models: LinearModel) -> InMemoryChallengers:
    registry = InMemoryChallengers("m")
    for model in models:
        registry.register(model)
    return registry


def started(registry: object) -> Challengers:
    challengers = Challengers(registry, BASELINE, dead_band=0.0, poll_seconds=3600)
    challengers.start()
    challengers.stop()  # the background poll is not needed: tests call check() themselves
    return challengers


def step_vectors(step: int, **kwargs: object) -> list:
    return [vector(s, step, ret_1=ret_for(s, step), **kwargs) for s in SYMBOLS]


def test_a_registry_without_challenger_marks_serves_no_challengers():
    champions = InMemoryChampions("m")
    champions.register(LinearModel("m", "1", 1.0))
    challengers = started(champions)
    assert challengers.labels == [] and challengers.lag_window == 0
    assert challengers.forecast(step_vectors(0), NOW_MS, LinearModel("m", "1", 1.0)) == []


def test_each_challenger_predicts_every_vector_tagged_with_its_version():
    champion, two, three = LinearModel("m", "1", 1.0), LinearModel("m", "2", 2.0), LinearModel("m", "3", -1.0, 0.01)
    registry = registry_with(champion, two, three)
    registry.add_challenger("2")
    registry.add_challenger("3")
    challengers = started(registry)
    assert challengers.labels == ["m v2", "m v3"]

    predictions = challengers.forecast(step_vectors(4), NOW_MS, champion)
    assert sorted((p.model_version, p.symbol) for p in predictions) == [
        (v, s) for v in ("2", "3") for s in sorted(SYMBOLS)]
    for prediction in predictions:
        model = two if prediction.model_version == "2" else three
        assert prediction.model_name == "m" and prediction.emitted_ms == NOW_MS
        assert prediction.predicted_return == pytest.approx(model.expected([ret_for(prediction.symbol, 4)]), rel=1e-5)


def test_the_champion_itself_is_not_served_again_as_a_challenger():
    champion = LinearModel("m", "1", 1.0)
    registry = registry_with(champion, LinearModel("m", "2", 2.0))
    registry.add_challenger("1")
    registry.add_challenger("2")
    predictions = started(registry).forecast(step_vectors(0), NOW_MS, champion)
    assert {p.model_version for p in predictions} == {"2"}


def test_a_challenger_publishes_nothing_until_its_window_is_full():
    champion = LinearModel("m", "1", 1.0)
    long = LinearModel("m", "2", 1.0, lag_window=3)
    registry = registry_with(champion, long)
    registry.add_challenger("2")
    challengers = started(registry)
    assert challengers.lag_window == 3
    assert challengers.forecast(step_vectors(0), NOW_MS, champion) == []  # not the baseline in its name
    assert challengers.forecast(step_vectors(1), NOW_MS, champion) == []
    third = challengers.forecast(step_vectors(2), NOW_MS, champion)
    assert len(third) == len(SYMBOLS)
    for prediction in third:
        window = [ret_for(prediction.symbol, s) for s in range(3)]
        assert prediction.predicted_return == pytest.approx(long.expected(window), rel=1e-5)


def test_vectors_a_challenger_cannot_read_are_skipped_for_it_only():
    champion = LinearModel("m", "1", 1.0)
    other_features = LinearModel("m", "2", 1.0, feature_set_version="fs-b")
    same = LinearModel("m", "3", 1.0)
    registry = registry_with(champion, other_features, same)
    registry.add_challenger("2")
    registry.add_challenger("3")
    predictions = started(registry).forecast(step_vectors(0), NOW_MS, champion)
    assert {p.model_version for p in predictions} == {"3"}


def test_adding_and_removing_takes_effect_between_batches_and_keeps_windows():
    champion = LinearModel("m", "1", 1.0)
    registry = registry_with(champion, LinearModel("m", "2", 2.0, lag_window=2), LinearModel("m", "3", 3.0))
    registry.add_challenger("2")
    challengers = Challengers(registry, BASELINE, dead_band=0.0, poll_seconds=3600)
    challengers.start()
    challengers.stop()
    challengers.forecast(step_vectors(0), NOW_MS, champion)
    registry.add_challenger("3")
    challengers._watcher.check()  # what the background poll does
    assert challengers.labels == ["m v2"]  # not before the loop takes the new set
    challengers.swap_if_ready()
    assert challengers.labels == ["m v2", "m v3"]
    both = challengers.forecast(step_vectors(1), NOW_MS, champion)
    assert sorted({p.model_version for p in both}) == ["2", "3"]  # v2's window survived the change
    loads = registry.loads
    registry.remove_challenger("2")
    challengers._watcher.check()
    challengers.swap_if_ready()
    assert challengers.labels == ["m v3"] and registry.loads == loads  # v3 kept, not loaded again
    assert {p.model_version for p in challengers.forecast(step_vectors(2), NOW_MS, champion)} == {"3"}


def test_a_challenger_of_another_horizon_is_refused_and_not_retried():
    registry = registry_with(LinearModel("m", "1", 1.0), LinearModel("m", "2", 1.0, horizon=10))
    registry.add_challenger("2")
    challengers = started(registry)
    assert challengers.labels == []
    loads = registry.loads
    challengers._watcher.check()
    assert registry.loads == loads
