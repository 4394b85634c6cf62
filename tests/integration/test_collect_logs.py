"""collect_logs against the stand-ins: one archive, every cluster in it, no configured secret anywhere."""

from __future__ import annotations

import tarfile

import pytest
from ansible_run import CHARTS, run_playbook
from kube_fake.testing import run_kube_fake
from kubefate_emulator.testing import run_emulator

pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="reference KubeFATE charts (../shared) absent")
PASSWORD = "sandbox-demo-only"  # every password of the sandbox inventory: KubeFATE, MariaDB, MySQL, FATE-Board
FAST = ("-e", "fate_wait_sleep=1")
HOSTS = ("sandbox-exchange", "sandbox-fate-9999", "sandbox-fate-10000")


def test_support_bundle(tmp_path):
    with run_kube_fake() as kube, run_emulator(password=PASSWORD, job_seconds=1) as emulator:
        proc = run_playbook("deploy_federation", kube, emulator, *FAST)
        assert proc.returncode == 0, proc.stdout[-4000:]
        emulator.clear_requests()
        kube.clear_requests()
        dest = tmp_path / "bundle.tar.gz"
        proc = run_playbook(
            "collect_logs", kube, emulator, "-e", f"fate_logs_dest={dest}", "-e", "fate_logs_tail=50", "-vvv"
        )
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert emulator.writes() == [] and kube.writes(include_dry_run=False) == []
        log_requests = [r for r in emulator.requests() if r["path"].startswith("/v1/log/")]
    assert len(log_requests) == 3
    assert all(r["query"].get("tail") == "50" and r["query"].get("timestamps") for r in log_requests), log_requests
    assert f"support bundle: {dest} (3 clusters, secrets masked)" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr

    with tarfile.open(dest) as archive:
        members = {m.name.lstrip("./"): m for m in archive.getmembers() if m.isfile()}
        texts = {name: archive.extractfile(m).read().decode() for name, m in members.items()}
    for host in HOSTS:
        for file in ("cluster.yaml", "jobs.yaml", "containers.log", "pods.yaml", "events.yaml"):
            assert f"{host}/{file}" in members, sorted(members)
    assert "kubefate-sandbox.log" in members and "index.yaml" in members
    for name, text in texts.items():
        assert PASSWORD not in text, f"{name} holds a configured password"
    # The emulated FATE services print their database password; it arrives masked.
    party_log = texts["sandbox-fate-9999/containers.log"]
    assert "connecting to mysql:3306 (user fate, passwd ********)" in party_log
    assert "name: fate-9999" in texts["sandbox-fate-9999/cluster.yaml"]
    assert "ClusterInstall" in texts["sandbox-fate-9999/jobs.yaml"]
    assert members["index.yaml"].mode & 0o077 == 0
