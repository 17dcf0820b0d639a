"""docker-compose.yml stays valid: every service it builds has a Dockerfile, every dependency exists."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
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
    dockerfiles = {spec["build"]["dockerfile"] for spec in services.values() if "build" in spec}
    for package in SERVICES:
        dockerfile = ROOT / "services" / package / "Dockerfile"
        assert dockerfile.is_file(), f"services/{package} has no Dockerfile"
        text = dockerfile.read_text()
        assert "USER tickcast" in text, f"{package} image must not run as root"
        assert text.count("FROM ") >= 2, f"{package} image must be multi-stage"
        assert f"services/{package}/Dockerfile" in dockerfiles, f"{package} is not in docker-compose.yml"


def test_dependencies_name_existing_services():
    services = load_compose()["services"]
    for name, spec in services.items():
        for dependency in spec.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
