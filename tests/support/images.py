"""Which Dockerfile builds a service's image, and which module that image runs.

Most services share services/Dockerfile (the package is its SERVICE build argument, baked into
the ``tickcast-service`` launcher); a service with needs of its own (the gateway's frontend) keeps
services/<package>/Dockerfile. The deploy tests for compose, Kubernetes and monitoring ask here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED_DOCKERFILE = ROOT / "services" / "Dockerfile"


def dockerfile_of(package: str) -> Path:
    """The Dockerfile that builds ``package``'s image."""
    assert (ROOT / "services" / package / "src" / package).is_dir(), f"no service package {package}"
    own = ROOT / "services" / package / "Dockerfile"
    return own if own.is_file() else SHARED_DOCKERFILE


def built_package(build: dict[str, Any]) -> str | None:
    """The service package a compose ``build:`` section builds, or None for another image."""
    dockerfile = build.get("dockerfile", "")
    if dockerfile == SHARED_DOCKERFILE.relative_to(ROOT).as_posix():
        return build.get("args", {}).get("SERVICE")
    match = re.fullmatch(r"services/(\w+)/Dockerfile", dockerfile)
    return match[1] if match else None


def entry_module(package: str) -> str:
    """The module ``python -m`` runs when ``package``'s image starts without a command."""
    dockerfile = dockerfile_of(package)
    text = dockerfile.read_text()
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.MULTILINE)
    assert entrypoint, f"{dockerfile}: no exec-form ENTRYPOINT"
    if entrypoint[1] == '["tickcast-service"]':
        assert re.search(r"exec python -m %s \"\$@\".*\"\$SERVICE\"", text), f"{dockerfile}: unexpected launcher"
        return package
    module = re.fullmatch(r'\["python", "-m", "(\w+)"\]', entrypoint[1])
    assert module, f"{dockerfile}: unexpected ENTRYPOINT {entrypoint[1]}"
    return module[1]
