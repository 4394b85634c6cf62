"""Helpers for the KubeFATE emulator tests: paths of the shared reference data and cluster.yaml builders."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from kubefate_emulator.testing import Emulator, run_emulator  # noqa: E402

SHARED = ROOT.parent / "shared" / "kubefate"
CHARTS = SHARED / "charts"
EXAMPLES = SHARED / "examples"
SWAGGER = SHARED / "api" / "swagger.json"

#: Fast defaults for every emulator started by the tests.
FAST = {"job_seconds": 1, "module_spread": 0.5, "quiet": True}

__all__ = ["CHARTS", "EXAMPLES", "FAST", "ROOT", "SHARED", "SWAGGER", "Emulator", "run_emulator"]


def shared_available() -> bool:
    return (CHARTS / "fate-v2.0.0.tgz").is_file() and (EXAMPLES / "v2.0.0-cluster.yaml").is_file()


def example(source: str, **changes) -> str:
    """A shared cluster.yaml example as text, with top-level keys changed (None deletes a key)."""
    spec = yaml.safe_load((EXAMPLES / source).read_text())
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return yaml.safe_dump(spec, sort_keys=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def exchange_yaml(name: str | None = None, namespace: str | None = None, **changes) -> str:
    """The smallest real chart (fate-exchange v1.11.2, one Deployment ``rollsite``)."""
    name = name or unique("exchange")
    return example("v1.11.2/exchange-rollsite.yaml", name=name, namespace=namespace or name, **changes)


def fate_yaml(name: str | None = None, namespace: str | None = None, version: str = "v1.11.2", **changes) -> str:
    """A fate cluster.yaml from the shared examples (v1.11.2 rollsite or v2.0.0 osx)."""
    name = name or unique("fate")
    source = "v1.11.2/cluster.yaml" if version == "v1.11.2" else "v2.0.0-cluster.yaml"
    return example(source, name=name, namespace=namespace or name, **changes)


def install_ok(emulator: Emulator, cluster_yaml: str, timeout: float = 20, **kwargs) -> tuple[dict, str]:
    """Install and wait for Success; returns (job, cluster uuid)."""
    status, body = emulator.install(cluster_yaml, **kwargs)
    assert status == 200, body
    job = emulator.wait_job(body["data"]["uuid"], timeout=timeout)
    assert job["status"] == "Success", job["states"]
    return job, job["cluster_id"]
