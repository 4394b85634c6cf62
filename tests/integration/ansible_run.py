"""Run small playbooks through ansible-playbook and read every task result back (ansible.posix.json callback)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
BIN = Path(sys.executable).parent


def ansible_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment that isolates one ansible run (its own TMPDIR and ANSIBLE_HOME) and pins the interpreter."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
        TMPDIR=str(tmp),
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    env.update(extra)
    return env


class Run:
    """The outcome of one ansible-playbook run: return code, output and per-task results of one host."""

    def __init__(self, proc: subprocess.CompletedProcess, host: str):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else {}
        self.host = host

    @property
    def results(self) -> list[dict]:
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                result = task.get("hosts", {}).get(self.host)
                if result is not None:
                    result = dict(result)
                    result["_task"] = task["task"]["name"]
                    out.append(result)
        return out

    def task(self, name: str) -> dict:
        for result in self.results:
            if result["_task"] == name:
                return result
        raise KeyError(f"no task {name!r} in {[r['_task'] for r in self.results]}\n{self.stderr[-2000:]}")

    @property
    def stats(self) -> dict:
        return self.data.get("stats", {}).get(self.host, {})


def run_tasks(tasks: list[dict], module_defaults: dict | None = None, args: tuple[str, ...] = (), env=None) -> Run:
    """Run ``tasks`` on localhost with the collection's module defaults; never raises on task failure."""
    play = {
        "name": "test",
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/fateops.kubefate.kubefate": module_defaults or {}},
        "tasks": tasks,
    }
    with tempfile.TemporaryDirectory(prefix="fateops-play-") as tmp:
        path = Path(tmp) / "play.yml"
        path.write_text(yaml.safe_dump([play], sort_keys=False))
        run_env = ansible_env(Path(tmp), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", **(env or {}))
        proc = subprocess.run(
            [str(BIN / "ansible-playbook"), str(path), *args],
            cwd=ROOT,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    return Run(proc, "localhost")


SANDBOX = ROOT / "inventories" / "sandbox"
CHARTS = SHARED / "kubefate" / "charts"


def run_playbook(
    playbook: str, kube, emulator, *args: str, inventory: Path = SANDBOX, timeout: int = 900, **env: str
) -> subprocess.CompletedProcess:
    """Run ``fateops.kubefate.<playbook>`` on an inventory (the sandbox's by default) against the stand-ins."""
    with tempfile.TemporaryDirectory(prefix="fateops-playbook-") as tmp:
        run_env = ansible_env(
            Path(tmp),
            FATEOPS_SANDBOX_KUBECONFIG=str(kube.kubeconfig),
            FATEOPS_SANDBOX_KUBEFATE_URL=emulator.url,
            FATEOPS_SANDBOX_CHARTS=str(CHARTS),
            **env,
        )
        return subprocess.run(
            [str(BIN / "ansible-playbook"), f"fateops.kubefate.{playbook}", "-i", str(inventory), *args],
            cwd=ROOT,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    found = {}
    for host, stats in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", stats)}
    return found


def stored_cluster(emulator, name: str) -> dict:
    """The cluster record KubeFATE holds for a cluster name (not deleted), read through its API."""
    status, body = emulator.api("GET", "/v1/cluster/")
    assert status == 200, body
    clusters = [c for c in body["data"] if c["name"] == name]
    assert len(clusters) == 1, clusters
    return clusters[0]


SANDBOX_PASSWORD = "sandbox-demo-only"  # every password of the sandbox inventory
FAST = ("-e", "fate_wait_sleep=1")


@contextlib.contextmanager
def deployed_sandbox(*args: str, inventory: Path = SANDBOX, kube_options: dict | None = None):
    """Fresh stand-ins with a sandbox federation deployed by deploy_federation (``args`` are extra options)."""
    from kube_fake.testing import run_kube_fake
    from kubefate_emulator.testing import run_emulator

    with (
        run_kube_fake(**(kube_options or {})) as kube,
        run_emulator(password=SANDBOX_PASSWORD, job_seconds=1) as emulator,
    ):
        proc = run_playbook("deploy_federation", kube, emulator, *FAST, *args, inventory=inventory)
        assert proc.returncode == 0, proc.stdout[-4000:]
        yield kube, emulator
