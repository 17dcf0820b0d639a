"""infra/k8s stays deployable without a cluster.

Every manifest is validated offline (strict, so a misspelt field fails) against the
Kubernetes OpenAPI schemas that the ``kubernetes-validate`` package ships, and the
workloads are checked for what operating them needs: probes on real ports, resource
requests within limits, a non-root user matching the images, Prometheus annotations on the
port each service really serves metrics on, commands the service CLIs accept, and
writable paths for every file a service keeps.
"""

from __future__ import annotations

import copy
import importlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml
from support.images import dockerfile_of
from support.images import entry_module as image_entry_module
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "infra" / "k8s"
# The oldest release still common on managed clusters; the manifests use nothing newer.
KUBERNETES_VERSION = "1.30.0"
NAMESPACE = "tickcast"
IMAGE_USER_ID = 10001
EXAMPLE_ONLY = {"secret.example.yaml"}

# Deployment name -> (Python package, settings class) of the service it runs.
SERVICES = {
    "trade-producer": ("trade_producer", "trade_producer.config:Settings"),
    "candle-builder": ("candle_builder", "candle_builder.config:Settings"),
    "feature-pipeline": ("feature_pipeline", "feature_pipeline.config:Settings"),
    "inference": ("inference", "inference.config:Settings"),
    "gateway": ("gateway", "gateway.config:GatewaySettings"),
}
STREAM_SERVICES = ["trade-producer", "candle-builder", "feature-pipeline", "inference"]
POD_NAME = "example-5d8f7c9b6-x2x9k"  # what a downward-API metadata.name resolves to


# --- loading -------------------------------------------------------------------------------


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in manifest_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                found.append((path.name, doc))
    return found


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in documents() if doc["kind"] == kind}


def deployments() -> dict[str, dict[str, Any]]:
    return of_kind("Deployment")


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def workloads() -> dict[str, dict[str, Any]]:
    return {**deployments(), **of_kind("CronJob")}


def all_containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def main_container(name: str) -> dict[str, Any]:
    containers = pod_spec(workloads()[name])["containers"]
    assert len(containers) == 1, f"{name}: expected one container, found {len(containers)}"
    return containers[0]


def configmap_env() -> dict[str, str]:
    return {key: str(value) for key, value in of_kind("ConfigMap")["tickcast-env"]["data"].items()}


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """The variables a container starts with: the ConfigMap it imports, then its own env."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            assert source["configMapRef"]["name"] == "tickcast-env"
            env.update(configmap_env())
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
        else:
            assert variable["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
            env[variable["name"]] = POD_NAME
    return env


def load_settings(target: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The service's own settings class, read from exactly the pod's environment."""
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in env:
        monkeypatch.setenv(name, env[name])
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()


def container_port(container: dict[str, Any], port: int | str) -> int:
    ports = container.get("ports", [])
    if isinstance(port, int):
        assert port in [p["containerPort"] for p in ports], f"{container['name']}: port {port} not declared"
        return port
    named = {p.get("name"): p["containerPort"] for p in ports}
    assert port in named, f"{container['name']}: no container port named {port!r}"
    return named[port]


def is_under_mount(path: str | Path, container: dict[str, Any]) -> bool:
    target = PurePosixPath(str(path))
    return any(
        target == PurePosixPath(m["mountPath"]) or PurePosixPath(m["mountPath"]) in target.parents
        for m in container.get("volumeMounts", [])
    )


_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {None: 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def cpu_cores(quantity: str | int | float) -> float:
    match = _CPU.match(str(quantity))
    assert match, f"unexpected cpu quantity {quantity!r}"
    return float(match[1]) / (1000 if match[2] else 1)


def memory_bytes(quantity: str | int) -> float:
    match = _MEMORY.match(str(quantity))
    assert match, f"unexpected memory quantity {quantity!r}"
    return int(match[1]) * _MEMORY_UNITS[match[2]]


# --- schema validation ---------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation must not fetch schemas: any connection attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access during validation: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_there_are_manifests_to_validate():
    kinds = {doc["kind"] for _, doc in documents()}
    assert {"Namespace", "ConfigMap", "Secret", "PersistentVolumeClaim", "Deployment", "Service", "CronJob"} <= kinds


@pytest.mark.parametrize(
    ("filename", "doc"),
    [pytest.param(name, doc, id=f"{name}:{doc['kind']}/{doc['metadata']['name']}") for name, doc in documents()],
)
def test_every_manifest_is_valid_for_kubernetes(filename: str, doc: dict[str, Any], no_network: None):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validation_rejects_what_a_cluster_would(no_network: None):
    gateway = deployments()["gateway"]
    kubernetes_validate.validate(gateway, KUBERNETES_VERSION, strict=True)

    misspelt = copy.deepcopy(gateway)
    container = misspelt["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)

    wrong_type = copy.deepcopy(gateway)
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)


# --- kustomization and namespace -----------------------------------------------------------


def test_kustomization_lists_every_manifest_but_the_secret_example():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    assert set(listed) == {path.name for path in manifest_files()} - EXAMPLE_ONLY
    assert kustomization["namespace"] == NAMESPACE


def test_kustomization_pins_every_image_the_manifests_use():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    pinned = {image["name"]: image["newTag"] for image in kustomization["images"]}
    for name, workload in workloads().items():
        for container in all_containers(pod_spec(workload)):
            repository, _, tag = container["image"].partition(":")
            assert repository in pinned, f"{name}: image {repository} not in kustomization images"
            assert tag == pinned[repository], f"{name}: {container['image']} differs from the kustomization tag"


def test_everything_lives_in_the_tickcast_namespace():
    assert set(of_kind("Namespace")) == {NAMESPACE}
    for filename, doc in documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{filename}: {doc['kind']} outside {NAMESPACE}"


# --- configuration -------------------------------------------------------------------------


def test_configmap_points_at_external_kafka_and_redis_with_json_logs():
    env = configmap_env()
    kafka_host = env["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].rsplit(":", 1)[0]
    assert kafka_host.endswith(".svc.cluster.local") and not kafka_host.startswith("127."), kafka_host
    assert env["REDIS_URL"].startswith("redis://") and ".svc.cluster.local" in env["REDIS_URL"]
    assert env["LOG_FORMAT"] == "json"
    assert int(env["METRICS_PORT"]) > 0


def test_secret_example_holds_gateway_api_keys_and_is_optional_everywhere(monkeypatch, tmp_path):
    secret = of_kind("Secret")["tickcast-secrets"]
    settings = load_settings("gateway.config:GatewaySettings", secret["stringData"], monkeypatch, tmp_path)
    assert len(settings.api_keys) == 2
    for name, workload in workloads().items():
        for container in all_containers(pod_spec(workload)):
            refs = [source["secretRef"] for source in container["envFrom"] if "secretRef" in source]
            assert refs == [{"name": "tickcast-secrets", "optional": True}], f"{name}/{container['name']}"


@pytest.mark.parametrize("name", list(SERVICES))
def test_each_service_reads_json_logs_kafka_and_redis_from_its_pod_env(name, monkeypatch, tmp_path):
    _, target = SERVICES[name]
    settings = load_settings(target, container_env(main_container(name)), monkeypatch, tmp_path)
    env = configmap_env()
    assert settings.log_format == "json"
    assert settings.kafka.bootstrap_servers == env["KAFKA_BOOTSTRAP_SERVERS"]
    assert settings.redis.url == env["REDIS_URL"]


@pytest.mark.parametrize("name", STREAM_SERVICES)
def test_stream_services_serve_metrics_where_probes_and_prometheus_look(name, monkeypatch, tmp_path):
    deployment = deployments()[name]
    container = main_container(name)
    settings = load_settings(SERVICES[name][1], container_env(container), monkeypatch, tmp_path)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert settings.metrics_port == int(annotations["prometheus.io/port"]) > 0
    for probe in ("livenessProbe", "readinessProbe"):
        http = container[probe]["httpGet"]
        assert http["path"] == "/metrics", f"{name} {probe}"
        assert container_port(container, http["port"]) == settings.metrics_port, f"{name} {probe}"


def test_gateway_is_probed_on_health_and_scraped_on_its_http_port():
    deployment = deployments()["gateway"]
    container = main_container("gateway")
    args = container["args"]
    port = int(args[args.index("--port") + 1])
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert container_port(container, container["readinessProbe"]["httpGet"]["port"]) == port
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container_port(container, container["livenessProbe"]["httpGet"]["port"]) == port
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (str(port), "/metrics")


def test_gateway_service_reaches_the_gateway_pods():
    service = of_kind("Service")["gateway"]
    deployment = deployments()["gateway"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    container = main_container("gateway")
    for port in service["spec"]["ports"]:
        container_port(container, port["targetPort"])


# --- workloads -----------------------------------------------------------------------------


def test_a_deployment_per_long_running_service_and_a_cronjob_for_training():
    assert set(deployments()) == set(SERVICES)
    assert set(of_kind("CronJob")) == {"training"}


@pytest.mark.parametrize("name", list(SERVICES))
def test_deployment_selects_its_own_pods(name):
    spec = deployments()[name]["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_deployment_has_liveness_and_readiness_probes(name):
    for container in pod_spec(deployments()[name])["containers"]:
        for probe in ("livenessProbe", "readinessProbe"):
            assert "httpGet" in container.get(probe, {}), f"{name}/{container['name']}: no HTTP {probe}"
            container_port(container, container[probe]["httpGet"]["port"])


@pytest.mark.parametrize("name", [*SERVICES, "training"])
def test_every_container_requests_resources_within_its_limits(name):
    for container in all_containers(pod_spec(workloads()[name])):
        resources = container["resources"]
        where = f"{name}/{container['name']}"
        assert {"cpu", "memory"} <= resources["requests"].keys(), where
        assert {"cpu", "memory"} <= resources["limits"].keys(), where
        assert 0 < cpu_cores(resources["requests"]["cpu"]) <= cpu_cores(resources["limits"]["cpu"]), where
        assert 0 < memory_bytes(resources["requests"]["memory"]) <= memory_bytes(resources["limits"]["memory"]), where


def dockerfile_user_id(package: str) -> int:
    dockerfile = dockerfile_of(package)
    text = dockerfile.read_text()
    match = re.search(r"useradd\b[^\n]*--uid\s+(\d+)\s+tickcast", text)
    assert match and "USER tickcast" in text, f"{dockerfile}: no tickcast user"
    return int(match[1])


@pytest.mark.parametrize("name", [*SERVICES, "training"])
def test_every_pod_runs_as_the_images_non_root_user(name):
    spec = pod_spec(workloads()[name])
    security = spec["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == IMAGE_USER_ID
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    for container in all_containers(spec):
        package = image_package(container["image"])
        assert dockerfile_user_id(package) == IMAGE_USER_ID
        container_security = container["securityContext"]
        assert container_security.get("runAsUser", IMAGE_USER_ID) == IMAGE_USER_ID
        assert container_security.get("runAsNonRoot", True) is True
        assert container_security["allowPrivilegeEscalation"] is False
        assert container_security["capabilities"]["drop"] == ["ALL"]
        assert container_security["readOnlyRootFilesystem"] is True
        # With a read-only root the user's home and /tmp must be volumes.
        assert is_under_mount("/tmp", container), f"{name}/{container['name']}: /tmp not writable"


def image_package(image: str) -> str:
    repository = image.partition(":")[0]
    assert repository.startswith("tickcast/"), image
    package = repository.removeprefix("tickcast/").replace("-", "_")
    assert dockerfile_of(package).is_file(), image
    return package


def entry_module(container: dict[str, Any]) -> tuple[str, list[str]]:
    """The ``python -m`` module a container runs and the arguments it passes."""
    if "command" in container:
        command = container["command"]
        assert command[:2] == ["python", "-m"], command
        return command[2], [*command[3:], *container.get("args", [])]
    return image_entry_module(image_package(container["image"])), container.get("args", [])


@pytest.mark.parametrize("name", [*SERVICES, "training"])
def test_every_container_runs_a_command_its_cli_accepts(name):
    for container in all_containers(pod_spec(workloads()[name])):
        module, args = entry_module(container)
        app = importlib.import_module(f"{module}.__main__").app
        result = CliRunner().invoke(app, [*args, "--help"])
        where = f"{name}/{container['name']}: python -m {module} {' '.join(args)}"
        assert result.exit_code == 0, f"{where}\n{result.output}"
        assert "Usage:" in result.output and f" {args[0]} " in result.output, where


def test_training_runs_a_single_gated_session_per_schedule():
    cronjob = of_kind("CronJob")["training"]
    assert len(cronjob["spec"]["schedule"].split()) == 5
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert pod_spec(cronjob)["restartPolicy"] == "Never"
    args = main_container("training")["args"]
    # `train` exits non-zero when the session fails (`schedule` logs and carries on).
    assert args[0] == "train" and "--no-gate" not in args


# --- files a service keeps -----------------------------------------------------------------


def claims_mounted(name: str) -> dict[str, str]:
    """PersistentVolumeClaim name -> mount path in the workload's main container."""
    spec = pod_spec(workloads()[name])
    volumes = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]
               if "persistentVolumeClaim" in v}
    return {volumes[m["name"]]: m["mountPath"] for m in main_container(name)["volumeMounts"] if m["name"] in volumes}


def test_every_claim_used_is_defined():
    defined = set(of_kind("PersistentVolumeClaim"))
    for name in workloads():
        assert set(claims_mounted(name)) <= defined, name


@pytest.mark.parametrize("name", ["feature-pipeline", "training"])
def test_feature_store_repository_is_on_its_volume(name, monkeypatch, tmp_path):
    # Training opens the store through the feature pipeline's settings, so both read it alike.
    settings = load_settings("feature_pipeline.config:Settings", container_env(main_container(name)), monkeypatch,
                             tmp_path)
    assert str(settings.feast_repo_path) == claims_mounted(name)["feature-store"]


@pytest.mark.parametrize("name", ["inference", "training"])
def test_mlflow_store_is_on_its_volume(name, monkeypatch, tmp_path):
    from tickcast.registry.settings import RegistrySettings

    container = main_container(name)
    registry = load_settings("tickcast.registry.settings:RegistrySettings", container_env(container), monkeypatch, tmp_path)
    assert isinstance(registry, RegistrySettings)
    database = registry.tracking_uri().removeprefix("sqlite:///")
    artifacts = registry.artifact_root().removeprefix("file://")
    mount = claims_mounted(name)["mlflow"]
    assert PurePosixPath(mount) in PurePosixPath(database).parents, database
    assert PurePosixPath(mount) in PurePosixPath(artifacts).parents, artifacts


@pytest.mark.parametrize(
    ("name", "target", "fields"),
    [
        ("candle-builder", "candle_builder.config:Settings", ["candle_state_dir"]),
        ("feature-pipeline", "feature_pipeline.config:Settings", ["feast_repo_path", "faust_data_dir"]),
        ("training", "training.config:TrainingSettings", ["output_dir"]),
    ],
)
def test_every_directory_a_service_writes_is_a_volume(name, target, fields, monkeypatch, tmp_path):
    container = main_container(name)
    settings = load_settings(target, container_env(container), monkeypatch, tmp_path)
    for field in fields:
        path = getattr(settings, field)
        assert path.is_absolute(), f"{name}.{field}={path} would be under the image's read-only /app"
        assert is_under_mount(path, container), f"{name}.{field}={path} is on the read-only root"


def test_candle_builder_replicas_get_distinct_instance_ids(monkeypatch, tmp_path):
    env = {v["name"]: v for v in main_container("candle-builder")["env"]}
    assert env["CANDLE_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    settings = load_settings("candle_builder.config:Settings", container_env(main_container("candle-builder")),
                             monkeypatch, tmp_path)
    assert settings.candle_instance_id == POD_NAME
