"""Fixtures for the kube-fake tests: one fake per module (tests use their own namespaces) and a factory for
fakes with special options. The fake runs as a subprocess (``kube_fake.testing.run_kube_fake``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

from kube_fake.testing import KubeFake, run_kube_fake  # noqa: E402


@pytest.fixture(scope="module")
def kube() -> KubeFake:
    with run_kube_fake() as fake:
        yield fake


@pytest.fixture
def start():
    """Start a dedicated fake with extra options: ``kube = start(namespace_only=["team-a"])``."""
    stack = []

    def _start(*args, **kwargs) -> KubeFake:
        context = run_kube_fake(*args, **kwargs)
        fake = context.__enter__()
        stack.append(context)
        return fake

    yield _start
    while stack:
        stack.pop().__exit__(None, None, None)


@pytest.fixture(scope="module")
def dyn(kube):
    """A kubernetes.dynamic.DynamicClient on the module's fake (real client, real discovery)."""
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes.dynamic import DynamicClient

    api_client = kubernetes.config.new_client_from_config(kube.kubeconfig)
    client = DynamicClient(api_client)
    yield client
    api_client.close()
