"""MLflow runs: one per training session (baselines, report), one per candidate, one per decision."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from training.config import RegistrySettings
from tickcast.registry.mlflow_support import experiment_id, mlflow_client

_PARAM_LIMIT = 500


class RunTracker:
    def __init__(self, settings: RegistrySettings) -> None:
        self._client = mlflow_client(settings)
        self._experiment = experiment_id(settings)
        self._decisions = experiment_id(settings, f"{settings.mlflow_experiment}-gate")

    def start(
        self,
        run_name: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        decisions: bool = False,
    ) -> str:
        all_tags = dict(tags or {})
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = self._client.create_run(
            self._decisions if decisions else self._experiment, run_name=run_name, tags=all_tags
        )
        if params:
            self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        self._client.log_batch(run_id, params=[Param(k, str(v)[:_PARAM_LIMIT]) for k, v in params.items()])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        import math
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        finite = [Metric(k, float(v), now, 0) for k, v in metrics.items() if v is not None and math.isfinite(v)]
        self._client.log_batch(run_id, metrics=finite)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        self._client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifacts(self, run_id: str, paths: Iterable[Path], folder: str | None = None) -> None:
        for path in paths:
            self._client.log_artifact(run_id, str(path), folder)

    def log_text(self, run_id: str, text: str, file_name: str) -> None:
        self._client.log_text(run_id, text, file_name)

    def end(self, run_id: str, failed: bool = False) -> None:
        self._client.set_terminated(run_id, "FAILED" if failed else "FINISHED")

    def run_metrics(self, run_id: str) -> dict[str, float]:
        return dict(self._client.get_run(run_id).data.metrics)

    def search(self, filter_string: str, max_results: int = 100) -> list[Any]:
        return list(
            self._client.search_runs(
                [self._experiment], filter_string=filter_string, max_results=max_results,
                order_by=["attributes.start_time DESC"],
            )
        )
