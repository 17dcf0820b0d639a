"""infra/monitoring stays in step with the code and the compose stack.

Every dashboard query is parsed as PromQL and may only select series that a service really
exports (found by reading the ``Counter``/``Gauge``/``Histogram`` definitions in the source),
with labels those metrics really have. Prometheus scrapes compose services on the port each
one serves metrics on, as computed by the service's own settings class from its compose
environment. Grafana's provisioning and the compose mounts agree on every path.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from support.images import built_package

ROOT = Path(__file__).resolve().parents[3]
MONITORING = ROOT / "infra" / "monitoring"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
PROVISIONING = MONITORING / "grafana" / "provisioning"
SOURCE_DIRS = [*sorted((ROOT / "services").glob("*/src")), *sorted((ROOT / "libs").glob("*/src"))]
METRIC_CLASSES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
# Labels Prometheus attaches to every scraped series.
TARGET_LABELS = {"job", "instance"}
# What Grafana substitutes for its interval variables before the query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "30m"}

# Settings class of each service package, to compute the metrics port it really serves.
SETTINGS = {
    "trade_producer": "trade_producer.config:Settings",
    "candle_builder": "candle_builder.config:Settings",
    "feature_pipeline": "feature_pipeline.config:Settings",
    "inference": "inference.config:Settings",
    "training": "training.config:TrainingSettings",
}


# --- what the services export --------------------------------------------------------------


@dataclass
class Metric:
    name: str
    kind: str
    labels: set[str] = field(default_factory=set)
    where: str = ""

    def series(self) -> dict[str, set[str]]:
        """Series names this metric is exposed as (prometheus_client rules) -> their labels."""
        if self.kind == "Counter":
            base = self.name.removesuffix("_total")
            return {f"{base}_total": self.labels, f"{base}_created": self.labels}
        if self.kind == "Histogram":
            return {f"{self.name}_bucket": self.labels | {"le"}, f"{self.name}_sum": self.labels,
                    f"{self.name}_count": self.labels, f"{self.name}_created": self.labels}
        if self.kind == "Summary":
            return {self.name: self.labels | {"quantile"}, f"{self.name}_sum": self.labels,
                    f"{self.name}_count": self.labels, f"{self.name}_created": self.labels}
        if self.kind == "Info":
            return {f"{self.name}_info": self.labels}
        if self.kind == "Enum":
            return {self.name: self.labels | {self.name}}
        return {self.name: self.labels}


def _string_list(node: ast.expr | None) -> set[str]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return {item.value for item in node.elts if isinstance(item, ast.Constant) and isinstance(item.value, str)}
    return set()


def defined_metrics() -> dict[str, Metric]:
    """Every Prometheus metric created in the services' and libraries' source."""
    metrics: dict[str, Metric] = {}
    for source_dir in SOURCE_DIRS:
        for path in sorted(source_dir.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                kind = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if kind not in METRIC_CLASSES:
                    continue
                keywords = {kw.arg: kw.value for kw in node.keywords}
                name_node = node.args[0] if node.args else keywords.get("name")
                if not (isinstance(name_node, ast.Constant) and isinstance(name_node.value, str)):
                    continue
                labels_node = node.args[2] if len(node.args) > 2 else keywords.get("labelnames")
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                metrics[name_node.value] = Metric(name_node.value, kind, _string_list(labels_node), where)
    return metrics


def exported_series() -> dict[str, set[str]]:
    series: dict[str, set[str]] = {}
    for metric in defined_metrics().values():
        series.update(metric.series())
    return series


def test_the_source_defines_the_metrics_the_dashboard_is_built_on():
    metrics = defined_metrics()
    # A sample from each service: if these vanish, the scan (or the services) broke.
    for name in ("trade_producer_trades_produced_total", "candle_builder_candles_out_total",
                 "feature_pipeline_vectors_total", "inference_predictions_total", "gateway_http_request_seconds"):
        assert name in metrics, f"{name} not found in {[str(d.relative_to(ROOT)) for d in SOURCE_DIRS]}"
    assert metrics["gateway_http_request_seconds"].kind == "Histogram"
    assert metrics["gateway_http_request_seconds"].labels == {"method", "route"}
    series = exported_series()
    assert "gateway_http_request_seconds_bucket" in series and "le" in series["gateway_http_request_seconds_bucket"]
    assert "inference_predictions_total" in series


# --- PromQL --------------------------------------------------------------------------------


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return expr


def selectors(node: Any) -> list[promql_parser.VectorSelector]:
    """Every vector selector in a parsed expression."""
    if isinstance(node, promql_parser.VectorSelector):
        return [node]
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, promql_parser.Call):
        return [s for arg in node.args for s in selectors(arg)]
    if isinstance(node, promql_parser.AggregateExpr):
        return selectors(node.expr) + (selectors(node.param) if node.param is not None else [])
    if isinstance(node, promql_parser.BinaryExpr):
        return selectors(node.lhs) + selectors(node.rhs)
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
        return selectors(node.expr)
    return []


def output_labels(node: Any, series: dict[str, set[str]]) -> set[str]:
    """Labels the result of an expression carries (checking ``by``/``without`` on the way)."""
    if isinstance(node, promql_parser.VectorSelector):
        return series[node.name] | TARGET_LABELS
    if isinstance(node, promql_parser.MatrixSelector):
        return output_labels(node.vector_selector, series)
    if isinstance(node, promql_parser.Call):
        vectors = [arg for arg in node.args if selectors(arg)]
        inner = output_labels(vectors[0], series) if vectors else set()
        return inner - {"le"} if node.func.name == "histogram_quantile" else inner
    if isinstance(node, promql_parser.AggregateExpr):
        inner = output_labels(node.expr, series)
        if node.modifier is None:
            return set()
        grouping = set(node.modifier.labels)
        assert grouping <= inner, f"grouping by {sorted(grouping - inner)}, not labels of {node.expr.prettify()}"
        return grouping if node.modifier.type == promql_parser.AggModifierType.By else inner - grouping
    if isinstance(node, promql_parser.BinaryExpr):
        return output_labels(node.lhs, series) or output_labels(node.rhs, series)
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
        return output_labels(node.expr, series)
    return set()


def check_query(expr: str, series: dict[str, set[str]]) -> set[str]:
    """Parse a Grafana query as PromQL; every selector must name exported series with their labels."""
    parsed = promql_parser.parse(grafana_to_promql(expr))
    found = selectors(parsed)
    assert found, f"{expr!r} selects no metric"
    for selector in found:
        assert selector.name, f"{expr!r}: selector without a metric name"
        assert selector.name in series, f"{expr!r}: {selector.name} is not exported by any service"
        for matcher in selector.matchers.matchers:
            allowed = series[selector.name] | TARGET_LABELS
            assert matcher.name in allowed, f"{expr!r}: {selector.name} has no label {matcher.name!r}"
    return output_labels(parsed, series)


def test_the_query_check_catches_mistakes():
    series = {"up_total": {"route"}, "lat_seconds_bucket": {"route", "le"}}
    assert check_query("sum by (route) (rate(up_total[$__rate_interval]))", series) == {"route"}
    assert check_query("histogram_quantile(0.9, sum by (le) (rate(lat_seconds_bucket[5m])))", series) == set()
    bad = [
        "sum(rate(missing_total[5m]))",  # not exported
        "sum(rate(up_total{status=\"500\"}[5m]))",  # no such label
        "sum by (status) (rate(up_total[5m]))",  # grouping by a label it does not have
        "sum(rate(up_total[5m])",  # unbalanced
        "sum(rat(up_total[5m]))",  # unknown function
        "sum(rate(up_total[$__unknown]))",  # variable Grafana would not fill in
    ]
    for expr in bad:
        with pytest.raises((AssertionError, ValueError)):
            check_query(expr, series)


# --- the dashboard -------------------------------------------------------------------------


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def load_dashboard(path: Path = DASHBOARDS / "tickcast.json") -> dict[str, Any]:
    return json.loads(path.read_text())


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows keep theirs inside
    return panels


def queries(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(panel["title"], target) for panel in all_panels(dashboard) for target in panel.get("targets", [])]


def test_dashboard_json_parses_and_has_panels():
    assert [path.name for path in dashboard_files()] == ["tickcast.json"]
    dashboard = load_dashboard()
    assert dashboard["uid"] and dashboard["title"]
    data_panels = [panel for panel in all_panels(dashboard) if panel["type"] != "row"]
    assert len(data_panels) >= 10
    for panel in data_panels:
        assert panel["title"] and panel.get("targets"), f"panel {panel.get('id')} has no title or queries"


@pytest.mark.parametrize(
    ("title", "target"),
    [pytest.param(title, target, id=f"{title}:{target['refId']}") for title, target in queries(load_dashboard())],
)
def test_every_query_selects_exported_series_with_their_labels(title, target):
    labels = check_query(target["expr"], exported_series())
    used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
    assert used <= labels, f"{title}: legend uses {sorted(used - labels)}, the query returns {sorted(labels)}"


def test_dashboard_covers_throughput_lag_latency_errors_and_model_error():
    dashboard = load_dashboard()
    exprs = [target["expr"] for _, target in queries(dashboard)]
    text = "\n".join(exprs)

    def rated(metric: str) -> bool:
        return re.search(rf"rate\({metric}(\{{[^}}]*\}})?\[", text) is not None

    for metric in ("trade_producer_trades_produced_total", "candle_builder_candles_out_total",
                   "feature_pipeline_vectors_total", "inference_predictions_total"):
        assert rated(metric), f"no per-second throughput of {metric}"
    assert "candle_builder_watermark_lag_seconds" in text
    quantile_metrics = set(re.findall(r"histogram_quantile\([^,]+,.*?rate\((\w+)_bucket", text))
    assert {"inference_close_to_prediction_seconds", "trade_producer_produce_latency_seconds",
            "gateway_http_request_seconds"} <= quantile_metrics
    for dead_letters in ("candle_builder_trades_late_total", "candle_builder_trades_rejected_total",
                         "inference_refused_total"):
        assert dead_letters in text, f"dead letters of {dead_letters} not shown"
    assert re.search(r'feature_pipeline_candles_total\{outcome="rejected"\}', text)
    for live in ("inference_live_mae", "inference_live_skill"):
        assert live in text


# Services that read Kafka in a consumer group, and so export that group's lag.
CONSUMING_SERVICES = ("trade_producer", "candle_builder", "feature_pipeline", "inference")


def test_dashboard_shows_the_consumer_lag_of_every_group():
    panels = {panel["title"]: panel for panel in all_panels(load_dashboard())}
    lag_panels = [panel for title, panel in panels.items() if "consumer lag" in title.lower()]
    exprs = [target for panel in lag_panels for target in panel["targets"]]
    per_group = [t for t in exprs if "tickcast_consumer_group_lag" in t["expr"]]
    assert per_group, "no panel shows tickcast_consumer_group_lag"
    assert "group" in check_query(per_group[0]["expr"], exported_series())  # one line per consumer group
    assert any("tickcast_consumer_lag_last_success_timestamp_seconds" in t["expr"] for t in exprs), \
        "a stale lag (broker away) would not be visible"


def test_every_consuming_service_exports_its_consumer_lag():
    for package in CONSUMING_SERVICES:
        entry = (ROOT / "services" / package / "src" / package / "__main__.py").read_text()
        assert "watch_consumer_lag(" in entry, f"{package} does not export its consumer lag"


def test_dashboard_panels_have_unique_ids_and_do_not_overlap():
    panels = all_panels(load_dashboard())
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


# --- Grafana provisioning ------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> repository path of a compose service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        host, container, *_ = volume.split(":")
        if host.startswith("./"):
            found[container] = host.removeprefix("./")
    return found


def test_monitoring_services_are_in_the_compose_monitoring_profile_only():
    services = compose()["services"]
    for name, port in (("prometheus", "9090:9090"), ("grafana", "3000:3000")):
        assert services[name]["profiles"] == ["monitoring"], name
        assert port in services[name]["ports"]
    for name, service in services.items():
        if name not in ("prometheus", "grafana"):
            assert "monitoring" not in service.get("profiles", []), f"{name} should not need the profile"


def provisioned_datasources() -> list[dict[str, Any]]:
    found = []
    for path in sorted((PROVISIONING / "datasources").glob("*.yml")):
        found.extend(yaml.safe_load(path.read_text())["datasources"])
    return found


def test_grafana_datasource_is_the_compose_prometheus():
    datasources = provisioned_datasources()
    assert [source["type"] for source in datasources] == ["prometheus"]
    url = datasources[0]["url"]
    match = re.fullmatch(r"http://([\w-]+):(\d+)/?", url)
    assert match, url
    prometheus = compose()["services"][match[1]]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert any(port.endswith(f":{match[2]}") for port in prometheus["ports"])


def test_every_panel_uses_the_provisioned_datasource():
    uid = provisioned_datasources()[0]["uid"]
    for panel in all_panels(load_dashboard()):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] == uid, panel["title"]


def test_compose_mounts_what_grafana_provisions():
    grafana = mounts(compose()["services"]["grafana"])
    assert grafana["/etc/grafana/provisioning"] == str(PROVISIONING.relative_to(ROOT))
    providers = [provider for path in sorted((PROVISIONING / "dashboards").glob("*.yml"))
                 for provider in yaml.safe_load(path.read_text())["providers"]]
    assert providers, "no dashboard provider"
    for provider in providers:
        assert grafana[provider["options"]["path"]] == str(DASHBOARDS.relative_to(ROOT))
    home = compose()["services"]["grafana"]["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        directory, _, name = home.rpartition("/")
        assert (ROOT / grafana[directory] / name).is_file(), home


# --- Prometheus ----------------------------------------------------------------------------


def prometheus_config() -> dict[str, Any]:
    return yaml.safe_load((MONITORING / "prometheus.yml").read_text())


def scrape_targets() -> dict[str, tuple[str, int, str]]:
    """Target ``host:port`` -> (host, port, metrics path)."""
    targets = {}
    for job in prometheus_config()["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, _, port = target.rpartition(":")
                targets[target] = (host, int(port), job.get("metrics_path", "/metrics"))
    return targets


def test_compose_mounts_the_prometheus_config():
    prometheus = compose()["services"]["prometheus"]
    flag = next(arg for arg in prometheus["command"] if arg.startswith("--config.file="))
    assert mounts(prometheus)[flag.partition("=")[2]] == "infra/monitoring/prometheus.yml"


def test_prometheus_config_parses_with_unique_jobs():
    config = prometheus_config()
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert len(jobs) == len(set(jobs))
    assert config["global"]["scrape_timeout"] < config["global"]["scrape_interval"]


def test_every_scrape_target_is_a_compose_service():
    services = compose()["services"]
    for target, (host, _, _) in scrape_targets().items():
        assert host in services, f"{target}: no compose service {host!r}"


def test_every_long_running_tickcast_service_is_scraped():
    hosts = {host for host, _, _ in scrape_targets().values()}
    for name, service in compose()["services"].items():
        one_shot = "entrypoint" in service  # topic-init runs another module once
        if built_package(service.get("build", {})) and not one_shot:
            assert name in hosts, f"compose service {name} is not scraped"


def _target_params() -> list[Any]:
    params = []
    for target, (host, port, path) in sorted(scrape_targets().items()):
        service = compose()["services"].get(host, {})
        if not built_package(service.get("build", {})):
            continue
        params.append(pytest.param(host, port, path, id=target))
    return params


@pytest.mark.parametrize(("host", "port", "path"), _target_params())
def test_each_service_serves_metrics_on_its_scraped_port(host, port, path, monkeypatch, tmp_path):
    service = compose()["services"][host]
    package = built_package(service.get("build", {}))
    assert path == "/metrics"
    if package == "gateway":
        command = service["command"]
        assert command[0] == "serve" and int(command[command.index("--port") + 1]) == port
        return
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name, value in service["environment"].items():
        monkeypatch.setenv(name, str(value))
    module, cls = SETTINGS[package].split(":")
    settings = getattr(importlib.import_module(module), cls)()
    assert settings.metrics_port == port, f"{host} would serve /metrics on {settings.metrics_port or 'no port'}"


def test_local_config_scrapes_the_same_services_on_distinct_local_ports():
    local = yaml.safe_load((MONITORING / "prometheus.local.yml").read_text())
    compose_jobs = {job["job_name"] for job in prometheus_config()["scrape_configs"]}
    local_jobs = {job["job_name"] for job in local["scrape_configs"]}
    services = compose()["services"]
    tickcast_jobs = {job for job in compose_jobs if built_package(services.get(job, {}).get("build", {}))}
    assert local_jobs == tickcast_jobs  # the broker runs without a metrics endpoint locally
    targets = [target for job in local["scrape_configs"] for static in job["static_configs"]
               for target in static["targets"]]
    assert all(target.startswith("127.0.0.1:") for target in targets)
    ports = [target.rpartition(":")[2] for target in targets]
    assert len(ports) == len(set(ports)), "two local processes cannot share a metrics port"
