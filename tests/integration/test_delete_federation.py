"""delete_federation against the stand-ins: refused without confirmation, then the right order, then a re-run.

The sandbox federation (two parties and an exchange) is deployed, then deleted with the opt-in namespace and
server phases; every assertion reads what the KubeFATE emulator and the Kubernetes API fake recorded.
"""

from __future__ import annotations

import re

import pytest
from ansible_run import CHARTS, FAST, deployed_sandbox, recap, run_playbook

pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="reference KubeFATE charts (../shared) absent")
DELETE_ALL = (
    "-e",
    "fate_delete_confirm=sandbox",
    "-e",
    "fate_delete_namespaces=true",
    "-e",
    "fate_delete_servers=true",
)


@pytest.fixture(scope="module")
def federation():
    with deployed_sandbox() as standins:
        yield standins


def delete(kube, emulator, *args):
    emulator.clear_requests()
    kube.clear_requests()
    return run_playbook("delete_federation", kube, emulator, *FAST, *args)


def live_clusters(emulator):
    status, body = emulator.api("GET", "/v1/cluster/")
    assert status == 200
    return sorted(c["name"] for c in body["data"] if c["status"] != "Deleted")


def test_refused_without_the_confirmation(federation):
    kube, emulator = federation
    for args in ((), ("-e", "fate_delete_confirm=yes")):
        proc = delete(kube, emulator, *args)
        assert proc.returncode != 0
        assert (
            "delete_federation deletes 3 clusters of federation sandbox; confirm with -e fate_delete_confirm=sandbox "
            "(nothing has been changed)"
        ) in proc.stdout
        assert emulator.requests() == [] and kube.requests() == []
    assert live_clusters(emulator) == ["fate-10000", "fate-9999", "fate-exchange"]


def test_refused_to_delete_a_server_others_still_use(federation):
    kube, emulator = federation
    proc = delete(
        kube,
        emulator,
        "--limit",
        "sandbox_party_9999",
        "-e",
        "fate_delete_confirm=sandbox",
        "-e",
        "fate_delete_servers=true",
    )
    assert proc.returncode != 0
    assert (
        "fate_delete_servers=true would delete the KubeFATE server that sandbox-exchange, sandbox-fate-10000 still "
        "use (outside --limit)"
    ) in proc.stdout
    assert emulator.requests() == [] and kube.requests() == []


def test_check_mode_writes_nothing(federation):
    kube, emulator = federation
    proc = delete(kube, emulator, "--check", "-e", "fate_delete_confirm=sandbox", "-e", "fate_delete_namespaces=true")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert emulator.writes() == []
    assert kube.writes(include_dry_run=False) == []
    assert "3 clusters, 3 would change (check mode)" in proc.stdout


def test_delete_in_order_then_rerun(federation):
    kube, emulator = federation
    proc = delete(kube, emulator, *DELETE_ALL)
    assert proc.returncode == 0, proc.stdout[-6000:]
    deletes = [r["path"] for r in emulator.writes() if r["method"] == "DELETE"]
    assert len(deletes) == 3 and all(p.startswith("/v1/cluster/") for p in deletes), deletes
    # The parties go before the exchange: their order in the request log.
    status, body = emulator.api("GET", "/v1/cluster/?all=true")
    assert status == 200, body
    uuid_name = {c["uuid"]: c["name"] for c in body["data"]}
    order = [uuid_name[p.rsplit("/", 1)[1]] for p in deletes]
    assert order[-1] == "fate-exchange" and sorted(order[:2]) == ["fate-10000", "fate-9999"], order
    assert live_clusters(emulator) == []
    # Opt-in phases: the FATE namespaces and the KubeFATE server are gone from Kubernetes.
    for namespace in ("fate-9999", "fate-10000", "fate-exchange", "kube-fate"):
        assert kube.get("Namespace", namespace) is None, namespace
    assert kube.get("ClusterRole", "kubefate-role") is None
    assert re.search(r"9999\s+fate\s+fate-9999\s+fate v2.0.0\s+sandbox\s+Deleted\s+delete", proc.stdout)
    assert "3 clusters, 3 changed by this run" in proc.stdout

    again = delete(kube, emulator, *DELETE_ALL)
    assert again.returncode == 0, again.stdout[-6000:]
    assert emulator.requests() == [], "the deleted KubeFATE server was asked for something"
    assert kube.writes(include_dry_run=False) == []
    assert all(s["changed"] == 0 and s["failed"] == 0 for s in recap(again.stdout).values()), recap(again.stdout)
    assert "3 clusters, 0 changed by this run" in again.stdout
    assert re.search(r"9999\s+fate\s+fate-9999\s+fate v2.0.0\s+sandbox\s+KubeFATE server gone\s+none", again.stdout)
