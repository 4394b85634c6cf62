"""upgrade_federation against the stand-ins: the sandbox federation deployed on FATE 1.11.2, then moved to 2.0.0.

Each step asserts on what the KubeFATE emulator recorded: refusals write nothing, the upgrade updates only the
party clusters (one batch at a time), a failed upgrade that KubeFATE rolled back is reported as Rollback and
stops the next batch, and a re-run completes the upgrade.
"""

from __future__ import annotations

import re

import pytest
from ansible_run import CHARTS, FAST, deployed_sandbox, recap, run_playbook, stored_cluster

pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="reference KubeFATE charts (../shared) absent")


@pytest.fixture(scope="module")
def federation_1_11():
    with deployed_sandbox("-e", "fate_version=1.11.2") as (kube, emulator):
        assert stored_cluster(emulator, "fate-9999")["chart_version"] == "v1.11.2"
        yield kube, emulator


def upgrade(kube, emulator, version, *args):
    emulator.clear_requests()
    return run_playbook("upgrade_federation", kube, emulator, "-e", f"fate_version={version}", *FAST, *args)


def updates(emulator):
    return [r["body"]["name"] for r in emulator.writes() if (r["method"], r["path"]) == ("PUT", "/v1/cluster")]


def test_check_mode_lists_the_upgrades_and_writes_nothing(federation_1_11):
    kube, emulator = federation_1_11
    proc = upgrade(kube, emulator, "2.0.0", "--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert emulator.writes() == []
    assert "2 of 3 clusters would change" in proc.stdout
    assert "cluster fate-9999 would be upgraded: chart fate v1.11.2 -> v2.0.0" in proc.stdout
    assert "cluster fate-10000 would be upgraded: chart fate v1.11.2 -> v2.0.0" in proc.stdout


def test_downgrade_is_refused_before_any_change(federation_1_11):
    kube, emulator = federation_1_11
    proc = upgrade(kube, emulator, "1.9.1")
    assert proc.returncode != 0
    assert emulator.writes() == []
    for name in ("fate-9999", "fate-10000"):
        assert (
            f"cluster {name}: refused before any change: fate v1.11.2 -> fate v1.9.1: downgrade "
            "(KubeFATE: using kubefate to downgrade a cluster is not supported yet)"
        ) in proc.stdout
    assert "PLAY [Parties" not in proc.stdout


def test_failed_upgrade_is_reported_as_rollback_and_stops_the_next_batch(federation_1_11):
    kube, emulator = federation_1_11
    emulator.faults(fail_modules=["python"], time_limit=4)
    try:
        proc = upgrade(kube, emulator, "2.0.0")
    finally:
        emulator.faults(fail_modules=[], time_limit=3600)
    assert proc.returncode != 0
    # Only the first batch (one party, host name order) was tried; the exchange needed nothing.
    assert updates(emulator) == ["fate-10000"]
    assert re.search(
        r"cluster fate-10000: job \S+ \(ClusterUpdate\) failed and KubeFATE rolled the cluster back to its previous "
        r"configuration; not Available: python \(\w+\)",
        proc.stdout,
    ), proc.stdout[-4000:]
    assert "last state: 'Cluster run rollback Success'" in proc.stdout
    cluster = stored_cluster(emulator, "fate-10000")
    assert cluster["status"] == "Rollback"
    assert cluster["Spec"]["chartVersion"] == "v1.11.2"
    assert stored_cluster(emulator, "fate-9999")["Spec"]["chartVersion"] == "v1.11.2"
    # A failed batch stops the run: party 9999 was checked, not touched.
    stats = recap(proc.stdout)
    assert stats["sandbox-fate-10000"]["failed"] == 1
    assert stats["sandbox-fate-9999"] == {**stats["sandbox-fate-9999"], "failed": 0, "changed": 0}


def test_upgrade_then_rerun_changes_nothing(federation_1_11):
    kube, emulator = federation_1_11
    proc = upgrade(kube, emulator, "2.0.0")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert updates(emulator) == ["fate-10000", "fate-9999"]
    for request in emulator.writes():
        assert request["path"] == "/v1/cluster" and request["method"] == "PUT", request
    for name in ("fate-9999", "fate-10000"):
        cluster = stored_cluster(emulator, name)
        assert (cluster["status"], cluster["chart_version"], cluster["Spec"]["chartVersion"]) == (
            "Running",
            "v2.0.0",
            "v2.0.0",
        )
        assert "osx" in cluster["Spec"]["modules"] and "rollsite" not in cluster["Spec"]["modules"]
    status, jobs = emulator.api("GET", "/v1/job/")
    assert status == 200
    upgrade_states = [s for j in jobs["data"] if j["method"] == "ClusterUpdate" for s in j["states"]]
    assert any("fate-mysql-upgrade-job" in s for s in upgrade_states), upgrade_states
    assert re.search(r"10000\s+fate\s+fate-10000\s+fate v2.0.0\s+sandbox\s+Running\s+upgrade", proc.stdout)

    again = upgrade(kube, emulator, "2.0.0")
    assert again.returncode == 0, again.stdout[-4000:]
    assert emulator.writes() == []
    assert "0 of 3 clusters would change" in again.stdout
