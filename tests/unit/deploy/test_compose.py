"""docker-compose.yml stays valid: every service it builds has a Dockerfile, every dependency exists.

Besides these PyYAML checks, infra/deploy-check (Go) loads the compose file with compose-go and
parses the Dockerfiles with BuildKit's frontend and linter, the libraries Docker itself uses.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support.images import SHARED_DOCKERFILE, built_package, dockerfile_of, entry_module

ROOT = Path(__file__).resolve().parents[3]
DEPLOY_CHECK = ROOT / "infra" / "deploy-check"
# A cold build downloads and compiles compose-go and BuildKit's frontend (about a minute or two).
GO_BUILD_TIMEOUT_S = 600
SERVICES = ["trade_producer", "candle_builder", "feature_pipeline", "training", "inference", "gateway"]


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_infrastructure_is_in_the_stack():
    services = load_compose()["services"]
    assert {"redpanda", "console", "redis", "topic-init"} <= services.keys()
    assert "8080:8080" in services["console"]["ports"]
    assert services["console"]["environment"]["KAFKA_BROKERS"] == "redpanda:9092"


def test_every_built_service_has_its_dockerfile():
    services = load_compose()["services"]
    built = {name: spec["build"] for name, spec in services.items() if "build" in spec}
    assert built, "no service is built from this repository"
    for name, build in built.items():
        dockerfile = ROOT / build.get("context", ".") / build["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"


def test_every_service_package_has_a_dockerfile_and_joins_the_stack():
    services = load_compose()["services"]
    built = {built_package(spec["build"]): spec["build"] for spec in services.values() if "build" in spec}
    for package in SERVICES:
        dockerfile = dockerfile_of(package)
        text = dockerfile.read_text()
        assert "USER tickcast" in text, f"{package} image must not run as root"
        assert text.count("FROM ") >= 2, f"{package} image must be multi-stage"
        assert package in built, f"{package} is not in docker-compose.yml"
        assert ROOT / built[package]["dockerfile"] == dockerfile, f"{package} is built from another Dockerfile"
        assert entry_module(package) == package, f"{package} image runs another module"


def test_dependencies_name_existing_services():
    services = load_compose()["services"]
    for name, spec in services.items():
        for dependency in spec.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"


# What `make up` runs (infra/Procfile) -> the compose service and Kubernetes workload running the same.
PROCFILE_TO_DEPLOYMENTS = {
    "producer": "trade-producer",
    "candles": "candle-builder",
    "features": "feature-pipeline",
    "inference": "inference",
    "gateway": "gateway",
}
# The one-shot line of `make up` (exit 0, not restarted): the first model and forecaster set; compose and
# Kubernetes train with their training scheduler instead.
PROCFILE_ONE_SHOT = {"models"}


def test_every_long_running_service_is_restarted_everywhere_when_it_dies():
    """`make up` restarts a dead service alone (tickcast.stack); compose and Kubernetes must too."""
    from honcho.environ import parse_procfile

    procfile = parse_procfile((ROOT / "infra" / "Procfile").read_text()).processes
    assert set(procfile) == set(PROCFILE_TO_DEPLOYMENTS) | PROCFILE_ONE_SHOT
    services = load_compose()["services"]
    for name in PROCFILE_TO_DEPLOYMENTS.values():
        assert services[name].get("restart") == "unless-stopped", f"compose: {name} is not restarted"
    # The training scheduler runs for ever too; only the one-shot topic creation must not restart.
    assert services["training"].get("restart") == "unless-stopped"
    assert services["topic-init"].get("restart") == "no"
    deployments = {
        doc["metadata"]["name"]: doc
        for path in sorted((ROOT / "infra" / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "Deployment"
    }
    for name in PROCFILE_TO_DEPLOYMENTS.values():
        assert name in deployments, f"k8s: {name} is not a Deployment"
        # A Deployment's pods can only restart Always (the default): the kubelet backs off by itself.
        assert deployments[name]["spec"]["template"]["spec"].get("restartPolicy", "Always") == "Always"


# --- docker's own loaders (infra/deploy-check) ------------------------------------------------

# A Dockerfile the check accepts; the failing cases below change one thing in it.
GOOD_DOCKERFILE = """\
FROM python:3.11-slim-bookworm AS base
RUN useradd --uid 10001 app

FROM base AS build
COPY app.py /src/app.py

FROM base AS runtime
COPY --from=build /src/app.py /app/app.py
USER app
CMD ["python", "/app/app.py"]
"""

GOOD_COMPOSE = """\
services:
  app:
    build: {context: ., dockerfile: Dockerfile}
    depends_on: [cache]
  cache:
    image: redis:7-alpine
"""


@pytest.fixture(scope="module")
def deploy_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deploy-check binary, built once for this module from infra/deploy-check."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not on PATH: the compose/Dockerfile check needs the Go toolchain (CI has it)")
    binary = tmp_path_factory.mktemp("deploy-check") / "deploy-check"
    subprocess.run(
        [go, "build", "-buildvcs=false", "-o", str(binary), "."],
        cwd=DEPLOY_CHECK,
        check=True,
        timeout=GO_BUILD_TIMEOUT_S,
    )
    return binary


def run_deploy_check(binary: Path, project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), "--compose", str(project / "docker-compose.yml"), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_project(root: Path, compose: str, dockerfile: str) -> Path:
    (root / "docker-compose.yml").write_text(compose)
    (root / "Dockerfile").write_text(dockerfile)
    (root / "app.py").write_text("print('hello')\n")
    return root


def test_repository_compose_and_dockerfiles_pass_docker_s_own_checks(deploy_check: Path):
    result = run_deploy_check(
        deploy_check, ROOT, "--env-file", str(ROOT / ".env.example"), "--dockerfiles", "services/*/Dockerfile"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for package in SERVICES:
        assert dockerfile_of(package).relative_to(ROOT).as_posix() in result.stdout
    assert SHARED_DOCKERFILE.relative_to(ROOT).as_posix() in result.stdout
    assert "profiles [monitoring]" in result.stdout


def test_a_valid_small_project_passes(deploy_check: Path, tmp_path: Path):
    result = run_deploy_check(deploy_check, write_project(tmp_path, GOOD_COMPOSE, GOOD_DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'final "runtime" on python:3.11-slim-bookworm, USER "app"' in result.stdout


def test_an_undefined_dependency_fails_with_the_loader_s_message(deploy_check: Path, tmp_path: Path):
    compose = GOOD_COMPOSE.replace("depends_on: [cache]", "depends_on: [missing]")
    result = run_deploy_check(deploy_check, write_project(tmp_path, compose, GOOD_DOCKERFILE))
    assert result.returncode == 1
    assert 'depends on undefined service "missing"' in result.stderr


def test_a_schema_violation_fails(deploy_check: Path, tmp_path: Path):
    # restart_policy belongs under deploy:, so the compose schema rejects it here.
    compose = GOOD_COMPOSE.replace("image: redis:7-alpine", "image: redis:7-alpine\n    restart_policy: x")
    result = run_deploy_check(deploy_check, write_project(tmp_path, compose, GOOD_DOCKERFILE))
    assert result.returncode == 1
    assert "restart_policy" in result.stderr


@pytest.mark.parametrize(
    ("change", "replacement", "message"),
    [
        ("USER app\n", "", 'final stage "runtime" runs as root'),
        ("USER app\n", "USER root\n", 'final stage "runtime" runs as root'),
        ("COPY app.py", "COPY missing.py", 'COPY source "missing.py" does not exist in the build context'),
        ("--from=build", "--from=builder", "COPY --from=builder names no earlier stage"),
        ("FROM base AS runtime", "FROM python:3.12-slim AS runtime", "do not share one base image"),
        ("FROM base AS build", "FROM base as build", "FromAsCasing"),
        ('CMD ["python", "/app/app.py"]', "CMD python /app/app.py", "JSONArgsRecommended"),
        ("RUN useradd", "MAINTAINER someone\nRUN useradd", "MaintainerDeprecated"),
        (GOOD_DOCKERFILE, "FROM python:3.11-slim-bookworm\nUSER 10001\nCOPY app.py /app/\n", "multi-stage"),
    ],
)
def test_a_broken_dockerfile_fails(
    deploy_check: Path, tmp_path: Path, change: str, replacement: str, message: str
):
    assert change in GOOD_DOCKERFILE
    dockerfile = GOOD_DOCKERFILE.replace(change, replacement)
    compose = GOOD_COMPOSE
    if "base image" in message:
        # A second service on the good Dockerfile, so two final stages differ in base image.
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "Dockerfile").write_text(GOOD_DOCKERFILE)
        (tmp_path / "other" / "app.py").write_text("print('other')\n")
        compose += "  other:\n    build: {context: other}\n"
    result = run_deploy_check(deploy_check, write_project(tmp_path, compose, dockerfile))
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr


def test_a_source_left_out_by_dockerignore_fails(deploy_check: Path, tmp_path: Path):
    project = write_project(tmp_path, GOOD_COMPOSE, GOOD_DOCKERFILE)
    (project / ".dockerignore").write_text("*.py\n")
    result = run_deploy_check(deploy_check, project)
    assert result.returncode == 1
    assert 'CopyIgnoredFile: Attempting to COPY file "app.py" that is excluded' in result.stderr


def test_a_dockerfile_no_service_builds_fails(deploy_check: Path, tmp_path: Path):
    project = write_project(tmp_path, GOOD_COMPOSE, GOOD_DOCKERFILE)
    (project / "orphan").mkdir()
    (project / "orphan" / "Dockerfile").write_text(GOOD_DOCKERFILE)
    result = run_deploy_check(deploy_check, project, "--dockerfiles", "*/Dockerfile")
    assert result.returncode == 1
    assert "orphan/Dockerfile: no service in the compose file builds it" in result.stderr


def test_a_named_volume_on_a_folder_the_image_does_not_create_fails(deploy_check: Path, tmp_path: Path):
    compose = GOOD_COMPOSE.replace("depends_on: [cache]", "depends_on: [cache]\n    volumes: [data:/data]")
    compose += "volumes:\n  data:\n"
    result = run_deploy_check(deploy_check, write_project(tmp_path, compose, GOOD_DOCKERFILE))
    assert result.returncode == 1
    assert "service app mounts volume data at /data, which no RUN of the final stage creates" in result.stderr

    creates_it = GOOD_DOCKERFILE.replace("USER app", "RUN mkdir -p /data && chown app /data\nUSER app")
    result = run_deploy_check(deploy_check, write_project(tmp_path, compose, creates_it))
    assert result.returncode == 0, result.stdout + result.stderr
