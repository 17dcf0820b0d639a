"""Where registered forecaster sets live: versions of an MLflow registered model whose artifact is the
set's JSON, the served one under the ``champion`` alias. Read here by training and inference alike.
"""

from __future__ import annotations

from pathlib import Path

from tickcast.forecast.forecaster_set import FILE_NAME, ForecasterSet

CHAMPION_ALIAS = "champion"


def forecast_set_name(symbols: list[str], interval: str) -> str:
    return f"tickcast-forecast-{'-'.join(s.lower() for s in symbols)}-{interval}"


def champion_set_version(tracking_uri: str, name: str) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException:
        return None


def load_forecaster_set(tracking_uri: str, name: str, version: str | None = None) -> ForecasterSet | None:
    """The set at ``version`` (default: the champion), or None when there is none."""
    import mlflow.artifacts
    from mlflow import MlflowClient

    version = version or champion_set_version(tracking_uri, name)
    if version is None:
        return None
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    source = client.get_model_version(name, version).source
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, tracking_uri=tracking_uri))
    path = local if local.is_file() else next(local.rglob(FILE_NAME))
    forecaster_set = ForecasterSet.load(path, version)
    forecaster_set.name = name
    return forecaster_set
