"""Every forecaster kind writes its kind and its fields by name, and reads back to the same JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tickcast.forecast import baselines, learned, mlp
from tickcast.forecast.registry import forecaster_from_json
from tickcast.forecast.seasonal import SeasonalProfile

PROFILE = SeasonalProfile(3_600_000, np.linspace(0.5, 1.5, 24))
LAST_HOUR = baselines.LastHourVolatility(5, 30)
HAR = learned.HarFeaturesVolatility(5, np.array([0.1, 0.2]), np.array([1.0]), np.array([2.0]), 0.01, 1.1, PROFILE,
                                    (0.1, 0.2, 0.7), 2.0)
LAYERS = [mlp.Dense(np.ones((2, 3)), np.zeros(3), "relu"), mlp.Dense(np.ones((3, 1)), np.zeros(1), "linear")]
FORECASTERS = [
    LAST_HOUR,
    baselines.LogHarVolatility(5, (1, 60), np.array([0.1, 0.2, 0.3]), 0.001, 1.2, PROFILE),
    baselines.GarchVolatility(5, 0.1, 0.05, 0.9),
    baselines.ClimatologicalQuantiles(5, np.array([-1.0, 0.0, 1.0]), 20.0),
    baselines.ScaledStudentT(5, LAST_HOUR, 4.0, 0.9),
    baselines.TrailingFrequency(5, 0.001, 0.4, 0.3, 10.0),
    HAR,
    learned.StandardizedQuantiles(5, LAST_HOUR, np.array([-1.0, 1.0])),
    learned.VolConditionalProbability(5, 0.001, LAST_HOUR, np.array([-1.0, 1.0]), np.array([0.0, 1.0])),
    mlp.MlpVolatility(5, HAR, LAYERS, 1.3),
    mlp.MlpQuantiles(5, LAST_HOUR, HAR, LAYERS),
]


@pytest.mark.parametrize("forecaster", FORECASTERS, ids=lambda forecaster: forecaster.kind)
def test_a_forecaster_reads_back_to_the_same_json(forecaster):
    written = json.loads(json.dumps(forecaster.to_json()))  # plain JSON types only
    back = forecaster_from_json(written)
    assert type(back) is type(forecaster)
    assert back.to_json() == written


def test_the_json_names_the_kind_then_the_fields_and_nests_parts_by_their_own_form():
    written = mlp.MlpQuantiles(5, LAST_HOUR, HAR, LAYERS).to_json()
    assert list(written) == ["kind", "horizon", "volatility", "features", "layers"]
    assert written["volatility"] == {"kind": "last_hour", "horizon": 5, "window": 30}
    assert written["layers"][1] == {"weights": [[1.0], [1.0], [1.0]], "bias": [0.0], "activation": "linear"}
    back = forecaster_from_json(written)
    assert back.features.garch == (0.1, 0.2, 0.7) and isinstance(back.features.coefficients, np.ndarray)
    assert isinstance(back.features.profile, SeasonalProfile)
