"""Reliability: deploy_federation under KubeFATE faults and abuse, with a table of figures.

Every scenario runs the real ``fateops.kubefate.deploy_federation`` playbook (the TLS checks run the modules)
against the KubeFATE emulator's fault injection and the Kubernetes API fake, and asserts on what the stand-ins
recorded (request logs, jobs, releases) and on what the operator was told. Each scenario adds a row to a table
(scenario, outcome, what the operator saw, what was left behind, seconds) that is written to
``.build/reliability-figures.md`` at the end of the module; ``docs/reliability.md`` shows a measured copy.

    .venv/bin/python -m pytest -q -p no:cacheprovider tests/integration/test_reliability.py
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_run import BIN, ROOT, SHARED, ansible_env, run_tasks
from kube_fake.testing import run_kube_fake
from kubefate_emulator.testing import free_port, run_emulator

CHARTS = SHARED / "kubefate" / "charts"
pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="reference KubeFATE charts (../shared) absent")

SANDBOX = ROOT / "inventories" / "sandbox"
PASSWORD = "sandbox-demo-only"  # every password of the sandbox inventory
SANDBOX_CLUSTERS = ("fate-exchange", "fate-9999", "fate-10000")
FIGURES_FILE = ROOT / ".build" / "reliability-figures.md"
UUID = re.compile(r"\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
WAIT_TIMEOUT = 8  # fate_wait_timeout of the scenarios that must stop at their deadline
# Scenario 2: a job counts as abandoned once unchanged for half the wait; 12 s leaves room for the restart's
# 503s and the new login before that, on a loaded machine too.
RESTART_WAIT_TIMEOUT = 12


# --------------------------------------------------------------------------------------------- figures


@dataclass
class Figure:
    scenario: str
    outcome: str
    saw: str
    left: str
    seconds: float


FIGURES: list[Figure] = []


def record(scenario: str, outcome: str, saw: str, left: str, seconds: float) -> None:
    FIGURES.append(Figure(scenario, outcome, saw, left, round(seconds, 1)))


def cell(text: str, limit: int = 260) -> str:
    """One Markdown table cell: one line, pipes escaped, UUIDs shortened, temporary paths hidden, long texts cut."""
    text = UUID.sub(r"\1…", " ".join(str(text).split()))
    text = re.sub(re.escape(tempfile.gettempdir()) + r"/[^\s;:,']*", "<tmp>", text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("|", "\\|")


@pytest.fixture(scope="module", autouse=True)
def figures_table():
    """Write the figures of this run to .build/reliability-figures.md once the module's tests are done."""
    started = time.monotonic()
    FIGURES.clear()
    yield
    if not FIGURES:
        return
    lines = [
        "| scenario | outcome | what the operator saw | left behind | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    ordered = sorted(FIGURES, key=lambda f: f.scenario.split(" ", 1)[0])  # by scenario number, not run order
    lines += [
        f"| {cell(f.scenario)} | {cell(f.outcome)} | {cell(f.saw, 420)} | {cell(f.left)} | {f.seconds} |"
        for f in ordered
    ]
    header = (
        f"Measured {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores; "
        f"{len(FIGURES)} scenarios; this module took {time.monotonic() - started:.0f} s.\n\n"
    )
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(header + "\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """One finished ansible-playbook run: return code, output, wall time and (JSON callback) task results."""

    rc: int
    stdout: str
    stderr: str
    seconds: float
    data: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def results(self) -> list[tuple[str, str, dict]]:
        """(task name, host, result) of every task result, in order."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                for host, result in task.get("hosts", {}).items():
                    out.append((task["task"]["name"], host, result))
        return out

    def failures(self) -> dict[str, list[str]]:
        """Failure messages by host (a host can fail more than once: a rescue re-raises the module's message)."""
        found: dict[str, list[str]] = {}
        for _task, host, result in self.results():
            if result.get("failed"):
                found.setdefault(host, [])
                if str(result.get("msg")) not in found[host]:
                    found[host].append(str(result.get("msg")))
        return found

    def cluster_results(self, host: str | None = None) -> list[tuple[str, dict]]:
        """The results of fateops.kubefate.cluster (they alone carry operation and api_calls)."""
        return [
            (h, r)
            for _t, h, r in self.results()
            if "operation" in r and "api_calls" in r and (host is None or h == host)
        ]

    def tail(self, chars: int = 4000) -> str:
        return (self.stdout[-chars:] + "\n--- stderr ---\n" + self.stderr[-chars:]) if self.text else "(no output)"


class Playbook:
    """``ansible-playbook fateops.kubefate.deploy_federation`` run in the background against the stand-ins.

    Output goes to files (a killed run leaves what it wrote); ``json_output`` selects the ansible.posix.json
    callback (task results as data) instead of the default one (what an operator reads).
    """

    def __init__(
        self,
        kube,
        url: str,
        *args: str,
        inventory: Path = SANDBOX,
        json_output: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="fateops-reliability-"))
        run_env = ansible_env(
            self.tmp,
            FATEOPS_SANDBOX_KUBECONFIG=str(kube.kubeconfig),
            FATEOPS_SANDBOX_KUBEFATE_URL=url,
            FATEOPS_SANDBOX_CHARTS=str(CHARTS),
            **(env or {}),
        )
        if json_output:
            run_env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        self.json_output = json_output
        argv = [str(BIN / "ansible-playbook"), "fateops.kubefate.deploy_federation", "-i", str(inventory), *args]
        self.started = time.monotonic()
        with open(self.tmp / "stdout", "wb") as out, open(self.tmp / "stderr", "wb") as err:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=run_env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def __enter__(self) -> Playbook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """A run the test did not finish (it failed first) is killed, not left running."""
        if self.process.poll() is None:
            self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the run and every process it started (its own session), as a crashed controller would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def finish(self, timeout: float = 600) -> Outcome:
        try:
            rc = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        seconds = time.monotonic() - self.started
        stdout = (self.tmp / "stdout").read_text(errors="replace")
        stderr = (self.tmp / "stderr").read_text(errors="replace")
        shutil.rmtree(self.tmp, ignore_errors=True)
        data = {}
        if self.json_output and "{" in stdout:
            with contextlib.suppress(ValueError):
                data = json.loads(stdout[stdout.index("{") :])
        return Outcome(rc, stdout, stderr, seconds, data)


def deploy(kube, url: str, *args: str, **kwargs: Any) -> Outcome:
    with Playbook(kube, url, *args, **kwargs) as run:
        return run.finish()


def wait_for(predicate, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not met after {timeout} s"
        time.sleep(0.1)


class Watcher:
    """Run ``action`` in the background as soon as ``predicate`` holds (poll every 0.1 s)."""

    def __init__(self, predicate, action) -> None:
        self.fired = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()

        def run() -> None:
            try:
                while not self._stop.is_set():
                    if predicate():
                        action()
                        self.fired.set()
                        return
                    time.sleep(0.1)
            except BaseException as exc:  # reported by stop()
                self.error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        if self.error is not None:
            raise self.error


# --------------------------------------------------------------------------------------------- what KubeFATE saw


def install_posts(emulator, processed_only: bool = False) -> Counter:
    """POST /v1/cluster per cluster name (``processed_only``: those that reached KubeFATE, not an injected 5xx)."""
    return Counter(
        r["body"]["name"]
        for r in emulator.requests(method="POST", path_prefix="/v1/cluster")
        if r["path"] == "/v1/cluster" and not (processed_only and r["fault"])
    )


def assert_nothing_destructive(emulator) -> None:
    """KubeFATE's destructive paths were never asked for: no cover=true, no DELETE, no job stop."""
    requests = emulator.requests(path_prefix="/v1")
    covers = [r for r in requests if isinstance(r["body"], dict) and r["body"].get("cover") is True]
    assert covers == [], covers
    assert [(r["method"], r["path"]) for r in requests if r["method"] == "DELETE"] == []
    assert [r["path"] for r in requests if r["method"] == "PUT" and r["path"].startswith("/v1/job/")] == []


def clusters(emulator) -> dict[str, dict]:
    """Live clusters by name, through the API (describe refreshes Running/Unavailable)."""
    status, body = emulator.api("GET", "/v1/cluster/")
    assert status == 200, body
    return {c["name"]: c for c in body["data"]}


def releases(emulator) -> dict[str, dict]:
    return {r["name"]: r for r in emulator.state()["releases"]}


def assert_no_secrets(text: str, secrets: dict[str, str]) -> int:
    """No configured secret and no issued token in ``text``; returns the number of lines checked."""
    leaked = sorted(kind for kind, value in secrets.items() if value and value in text)
    assert leaked == [], f"secrets in the output: {leaked}"
    assert "PRIVATE KEY-----" not in text
    return len(text.splitlines())


def tokens(emulator) -> dict[str, str]:
    issued = emulator.state()["tokens"]
    assert issued, "the emulator issued no token"
    return {f"JWT #{i}": token for i, token in enumerate(issued)}


# --------------------------------------------------------------------------------------------- inventories


def copy_sandbox(directory: Path) -> Path:
    shutil.copytree(SANDBOX, directory)
    return directory


def update_vars(inventory: Path, group: str, **changes: Any) -> None:
    path = inventory / "group_vars" / f"{group}.yml"
    data = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# ============================================================================================= 1, 7a and 3: one deploy

SECRETS = {
    "kubefate password": "kf-Reliability-7q2w",
    "mariadb password": "maria-Reliability-3e4r",
    "mysql password": "mysql-Reliability-5t6y",
    "fateboard password": "board-Reliability-7u8i",
    "registry password": "registry-Reliability-9o0p",
}
BASE_MODULES = ["osx", "clustermanager", "nodemanager", "mysql", "python", "fateboard"]
START_DELAY, LATENCY, ERROR_RATE = 2.0, 0.1, 0.2


@dataclass
class Deployed:
    kube: Any
    emulator: Any
    inventory: Path
    outcome: Outcome
    refused: float  # seconds between the playbook applying KubeFATE's Deployment and KubeFATE listening
    first_contact: float  # seconds between KubeFATE listening and the first API request reaching it
    requests: list[dict]


def secrets_inventory(directory: Path) -> Path:
    """The sandbox with its own secret per kind, an image pull secret, and parties without the notebook (client)."""
    inventory = copy_sandbox(directory)
    sandbox = yaml.safe_load((inventory / "group_vars" / "sandbox.yml").read_text())
    kubefate = sandbox["fate_kube_clusters"]["sandbox"]["kubefate"]
    kubefate["password"] = SECRETS["kubefate password"]
    kubefate["mariadb"]["password"] = SECRETS["mariadb password"]
    update_vars(
        inventory,
        "sandbox",
        fate_kube_clusters=sandbox["fate_kube_clusters"],
        fate_mysql_password=SECRETS["mysql password"],
        fate_fateboard_password=SECRETS["fateboard password"],
        fate_image_pull_secrets=["regcred"],
        fate_registry_credentials={
            "server": "registry.sandbox.local",
            "username": "puller",
            "password": SECRETS["registry password"],
        },
    )
    update_vars(inventory, "sandbox_parties", fate_overrides={"nodemanager": {"replicas": 1}, "modules": BASE_MODULES})
    return inventory


def epoch(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """One deploy at -vvv (the default callback: what an operator reads) of the secrets inventory, through
    transient faults: KubeFATE only starts listening once the playbook has applied its Deployment (and
    START_DELAY later), then answers ERROR_RATE of the requests with 502/503/504, every answer LATENCY late."""
    inventory = secrets_inventory(tmp_path_factory.mktemp("secrets") / "sandbox")
    port = free_port()
    with contextlib.ExitStack() as stack:
        kube = stack.enter_context(run_kube_fake())
        run = stack.enter_context(
            Playbook(kube, f"http://127.0.0.1:{port}", "-vvv", inventory=inventory, json_output=False)
        )
        # The playbook is about to call the API: until KubeFATE listens, every connection is refused.
        wait_for(lambda: any(o["metadata"]["name"] == "kubefate" for o in kube.objects("Deployment")), 180)
        refused_from = time.monotonic()
        emulator = stack.enter_context(
            run_emulator(
                port=port,
                password=SECRETS["kubefate password"],
                job_seconds=2,
                start_delay=START_DELAY,
                http_error_rate=ERROR_RATE,
                http_error_codes=[502, 503, 504],
                latency=LATENCY,
                seed=6,  # 7 errors in the first 40 requests, never two in a row
                quiet=True,
            )
        )
        listening = time.time()
        refused = time.monotonic() - refused_from
        outcome = run.finish()
        assert outcome.rc == 0, outcome.tail()
        requests = emulator.requests(path_prefix="/v1")
        emulator.faults(http_error_rate=0.0, latency=0.0)  # the faults end with the run
        first_contact = epoch(requests[0]["time"]) - listening
        yield Deployed(kube, emulator, inventory, outcome, refused, first_contact, requests)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host (default callback)."""
    found = {}
    for host, stats in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", stats)}
    return found


def test_transient_faults_are_retried_and_the_run_converges(deployed):
    """Connections refused while KubeFATE starts, then 502/503/504 and slow answers: every call is retried within
    its bounds, the run converges and installs each cluster once."""
    requests, emulator = deployed.requests, deployed.emulator
    stats = recap(deployed.outcome.stdout)
    assert set(stats) == {"sandbox-exchange", "sandbox-fate-9999", "sandbox-fate-10000"}, stats
    assert all(s["failed"] == 0 and s["unreachable"] == 0 for s in stats.values()), stats
    live = clusters(emulator)
    assert {name: live[name]["status"] for name in SANDBOX_CLUSTERS} == dict.fromkeys(SANDBOX_CLUSTERS, "Running")
    assert install_posts(emulator, processed_only=True) == Counter(SANDBOX_CLUSTERS)  # once each reached KubeFATE
    assert_nothing_destructive(emulator)
    injected = Counter(r["status"] for r in requests if r["fault"])
    assert sum(injected.values()) >= 3 and set(injected) <= {502, 503, 504}, injected
    # Every request that got an injected error was sent again and then answered by KubeFATE itself.
    for index, request in enumerate(requests):
        if request["fault"]:
            same = (request["method"], request["path"])
            later = [r for r in requests[index + 1 :] if (r["method"], r["path"]) == same]
            assert any(not r["fault"] for r in later), f"{request['method']} {request['path']} was not retried"
    assert all(r["duration"] >= LATENCY for r in requests if not r["fault"])
    # The refused connections were retried with a backoff (1, 2, 4 s...) that stays close to the outage: the
    # first request after KubeFATE started listening came at most one backoff step later.
    assert deployed.refused >= START_DELAY
    assert 0 <= deployed.first_contact <= deployed.refused + 2, (deployed.refused, deployed.first_contact)
    record(
        "1. transient API faults: connections refused while KubeFATE starts, then "
        f"{ERROR_RATE * 100:.0f} % of answers 502/503/504 and {LATENCY} s latency on every answer",
        "converged: rc 0, 3/3 clusters Running",
        f"no error: refused for {deployed.refused:.1f} s, first request {deployed.first_contact:.1f} s after "
        f"KubeFATE listened; {sum(injected.values())} injected errors ({dict(sorted(injected.items()))}) "
        "retried silently",
        "nothing extra: one install per cluster reached KubeFATE, no duplicate job",
        deployed.outcome.seconds,
    )


def test_verbose_output_holds_no_secret(deployed):
    """That -vvv run shows no password, registry credential, JWT or private key, in any encoding we can name."""
    kube, emulator, outcome = deployed.kube, deployed.emulator, deployed.outcome
    secrets = dict(SECRETS)
    secrets["registry auth (base64)"] = base64.b64encode(f"puller:{SECRETS['registry password']}".encode()).decode()
    secrets.update(tokens(emulator))
    # The run did use every secret: they reached the stand-ins.
    stored = kube.get("Secret", "kubefate-secret", "kube-fate")["data"]
    assert base64.b64decode(stored["kubefatePassword"]).decode() == SECRETS["kubefate password"]
    assert base64.b64decode(stored["mariadbPassword"]).decode() == SECRETS["mariadb password"]
    pull = json.loads(base64.b64decode(kube.get("Secret", "regcred", "fate-9999")["data"][".dockerconfigjson"]))
    assert pull["auths"]["registry.sandbox.local"]["password"] == SECRETS["registry password"]
    spec = clusters(emulator)["fate-9999"]["Spec"]
    assert spec["mysql"]["password"] == SECRETS["mysql password"]
    assert spec["fateboard"]["password"] == SECRETS["fateboard password"]
    assert "ESTABLISH LOCAL CONNECTION" in outcome.text, "not a -vvv run"
    lines = assert_no_secrets(outcome.text, secrets)
    record(
        "7a. secrets at -vvv (the run of 1): its own kubefate, MariaDB, MySQL, FATE-Board and registry passwords",
        f"no secret in {lines} lines of output",
        f"{len(secrets)} values searched: 5 passwords, the registry auth string, "
        f"{len(secrets) - 6} JWTs the emulator issued",
        "the secrets only in Kubernetes Secrets and KubeFATE's cluster.yaml",
        outcome.seconds,
    )


def test_failed_update_leaves_the_running_clusters_alone(deployed, tmp_path):
    """An update of party 9999 adds the notebook (client) whose pod never starts. The failure names the module and
    its pod phase at the deadline; nothing that was running is covered, deleted or changed."""
    kube, emulator, inventory = deployed.kube, deployed.emulator, deployed.inventory
    changed = tmp_path / "sandbox"
    shutil.copytree(inventory, changed)
    update_vars(changed, "sandbox_party_9999", fate_overrides={"nodemanager": {"replicas": 1}})  # chart modules
    before = {name: (c["revision"], c["status"]) for name, c in clusters(emulator).items()}
    helm_before = {name: r["revision"] for name, r in releases(emulator).items()}
    assert before == {name: (1, "Running") for name in SANDBOX_CLUSTERS}, before
    emulator.faults(fail_modules=["client"])
    emulator.clear_requests()
    outcome = deploy(kube, emulator.url, "-e", f"fate_wait_timeout={WAIT_TIMEOUT}", inventory=changed)
    after = {name: (c["revision"], c["status"]) for name, c in clusters(emulator).items()}
    helm_after = {name: r["revision"] for name, r in releases(emulator).items()}
    writes = [(r["method"], r["path"], (r["body"] or {}).get("name")) for r in emulator.writes()]
    job = next(j for j in emulator.state()["jobs"] if j["method"] == "ClusterUpdate")
    assert_nothing_destructive(emulator)
    assert_no_secrets(outcome.text, {**SECRETS, **tokens(emulator)})
    emulator.faults(fail_modules=[])

    assert outcome.rc != 0
    failures = outcome.failures()
    assert set(failures) == {"sandbox-fate-9999"}, failures
    message = failures["sandbox-fate-9999"][0]
    assert message.startswith("cluster fate-9999: job "), message
    assert f"(ClusterUpdate) still Running after {WAIT_TIMEOUT}s (wait_timeout {WAIT_TIMEOUT}s)" in message
    assert "not Available: client (Progressing)" in message
    assert "pods: client=Pending" in message
    (result,) = [r for _h, r in outcome.cluster_results("sandbox-fate-9999")]
    assert result["operation"] == "update" and WAIT_TIMEOUT <= result["duration"] <= WAIT_TIMEOUT + 3, result
    # One write: the update of party 9999. No install, no cover, no delete, nothing sent for the others.
    assert writes == [("PUT", "/v1/cluster", "fate-9999")], writes
    others = ("fate-exchange", "fate-10000")
    assert {n: after[n] for n in others} == dict.fromkeys(others, (1, "Running")), after
    assert {n: helm_after[n] for n in others} == {n: helm_before[n] for n in others}
    assert after["fate-9999"][1] == "Updating" and job["status"] == "Running", (after, job)
    record(
        "3. update of one party whose new module never becomes Available (fail_module client), "
        f"fate_wait_timeout {WAIT_TIMEOUT}",
        f"party 9999 failed at its deadline ({result['duration']} s), rc {outcome.rc}; the other hosts ok",
        message,
        "fate-9999 Updating (KubeFATE's job goes on; its 1 h limit rolls back); fate-10000 and the exchange "
        "Running, revision and helm release unchanged; 1 write (PUT fate-9999), no cover, no DELETE",
        outcome.seconds,
    )


# ============================================================================================= 2. restart in a wait


def test_restart_during_the_wait_stops_at_the_deadline_with_what_to_do():
    """The kubefate pod restarts while the parties wait: tokens die (401), running jobs are orphaned and stay
    Running for ever. The cluster module logs in again, stops at its own deadline and says the job will never
    finish and what to do."""
    with (
        run_kube_fake() as kube,
        run_emulator(password=PASSWORD, job_seconds=60, restart_downtime=0.5, quiet=True) as emulator,
    ):

        def parties_waiting() -> bool:
            jobs = [j for j in emulator.state()["jobs"] if j["name"] in ("fate-9999", "fate-10000")]
            return len(jobs) == 2 and all(j["states"][-1].startswith("checkout Cluster status") for j in jobs)

        # Restart once both party installs are being watched by KubeFATE (their records then stop changing).
        watcher = Watcher(parties_waiting, lambda: emulator.faults(restart_after=0.3))
        outcome = deploy(kube, emulator.url, "-e", f"fate_wait_timeout={RESTART_WAIT_TIMEOUT}")
        watcher.stop()
        requests = emulator.requests(path_prefix="/v1")
        state = emulator.state()
        assert_nothing_destructive(emulator)
        assert_no_secrets(outcome.text, {"kubefate password": PASSWORD, **tokens(emulator)})

    assert watcher.fired.is_set() and state["restarts"] == 1
    assert outcome.rc != 0
    failures = outcome.failures()
    # Both parties fail, so Ansible ends the playbook there: the exchange is not waited for in this run.
    assert set(failures) == {"sandbox-fate-9999", "sandbox-fate-10000"}, failures
    for host, messages in failures.items():
        name = host.removeprefix("sandbox-")
        message = messages[0]
        assert message.startswith(f"cluster {name}: job "), message
        assert "(ClusterInstall) is still Running but has not changed for" in message
        assert "it will never finish" in message and "the server restarted?" in message
        assert "re-run: the cluster module then takes the cluster over from the abandoned job" in message
        assert "fateops.kubefate.cluster_info" in message
    # Each wait stopped at its own deadline, not KubeFATE's hour.
    durations = {h: r["duration"] for h, r in outcome.cluster_results() if r.get("failed")}
    assert set(durations) == set(failures), durations
    assert all(RESTART_WAIT_TIMEOUT <= d <= RESTART_WAIT_TIMEOUT + 3 for d in durations.values()), durations
    # The restart answered 503 for a while, then the old token 401: the client logged in again and went on.
    restarting = [i for i, r in enumerate(requests) if r["fault"] == "restarting"]
    assert restarting, "no request met the restart"
    after = requests[restarting[0] :]
    first_401 = next(i for i, r in enumerate(after) if r["status"] == 401)
    relogin = [r for r in after[first_401:] if r["path"] == "/v1/user/login" and r["status"] == 200]
    assert relogin, "no new login after the 401"
    polls_after = [r for r in after[first_401:] if r["path"].startswith("/v1/job/") and r["status"] == 200]
    assert polls_after, "the jobs were not polled again after the new login"
    # Left behind: what KubeFATE abandoned, untouched by the collection.
    jobs = {j["name"]: j["status"] for j in state["jobs"]}
    assert jobs == dict.fromkeys(SANDBOX_CLUSTERS, "Running"), jobs
    assert sorted(r["name"] for r in state["releases"]) == sorted(SANDBOX_CLUSTERS)
    record(
        "2. KubeFATE restarts while the parties wait (tokens invalid, jobs orphaned Running), "
        f"fate_wait_timeout {RESTART_WAIT_TIMEOUT}",
        f"failed at the deadline ({', '.join(f'{d} s' for d in sorted(durations.values()))} waited), "
        f"rc {outcome.rc}; re-logged in after the 401",
        failures["sandbox-fate-9999"][0],
        "3 install jobs Running for ever and clusters Creating in KubeFATE (nothing resumes them), "
        "releases in place; nothing deleted",
        outcome.seconds,
    )


def test_rerun_after_a_restart_converges(tmp_path):
    """Follow the advice of scenario 2: after the restart, re-run. The cluster module must not wait for a job
    that KubeFATE abandoned (its record no longer changes) but converge the cluster."""
    with run_emulator(password=PASSWORD, job_seconds=60, quiet=True) as emulator:
        spec = {
            "name": "fate-exchange",
            "namespace": "fate-exchange",
            "chartName": "fate-exchange",
            "chartVersion": "v1.11.2",
            "partyId": 1,
            "modules": ["rollsite"],
            "rollsite": {"type": "NodePort", "nodePort": 30000, "partyList": []},
        }
        status, body = emulator.install(yaml.safe_dump(spec))
        assert status == 200, body
        emulator.wait_cluster_id(body["data"]["uuid"])
        emulator.restart()  # the install job is orphaned: Running for ever
        emulator.faults(job_seconds=1)
        task = {
            "name": "re-run",
            "fateops.kubefate.cluster": {"definition": spec, "wait": True, "wait_timeout": 6, "wait_sleep": 1},
            "ignore_errors": True,
        }
        run = run_tasks([task], {"url": emulator.url, "password": PASSWORD})
        result = run.task("re-run")
        live = clusters(emulator)
    assert not result.get("failed"), result.get("msg")
    assert live["fate-exchange"]["status"] == "Running"


# ============================================================================================= 4. killed mid-run


def test_killed_run_resumes_and_installs_nothing_twice():
    """The controller dies right after KubeFATE accepted the first install. The re-run finds that install's job in
    flight and waits for it instead of installing again, installs the rest, and converges."""
    # The exchange's rollsite is held back until the re-run waits for its job, so that job is surely in flight.
    with (
        run_kube_fake() as kube,
        run_emulator(password=PASSWORD, job_seconds=2, fail_module=["rollsite"], quiet=True) as emulator,
    ):
        with Playbook(kube, emulator.url) as first:
            wait_for(lambda: install_posts(emulator), 180, "a first install POST")
            first.kill()
            killed = first.finish()
        at_kill = install_posts(emulator)
        jobs_at_kill = {j["name"]: j for j in emulator.state()["jobs"]}
        mark = emulator.requests()[-1]["seq"]
        waited_for = {jobs_at_kill[name]["uuid"] for name in at_kill}

        def rerun_waits() -> bool:
            polls = emulator.requests(method="GET", path_prefix="/v1/job/", since=mark)
            return any(r["path"].removeprefix("/v1/job/") in waited_for for r in polls)

        watcher = Watcher(rerun_waits, lambda: emulator.faults(fail_modules=[]))
        rerun = deploy(kube, emulator.url)
        watcher.stop()
        posts = install_posts(emulator)
        live = clusters(emulator)
        jobs = emulator.state()["jobs"]
        assert_nothing_destructive(emulator)
        assert_no_secrets(rerun.text + killed.text, {"kubefate password": PASSWORD, **tokens(emulator)})

    assert killed.rc == -signal.SIGKILL
    assert "fate-exchange" in at_kill and jobs_at_kill["fate-exchange"]["status"] == "Running", jobs_at_kill
    assert rerun.rc == 0, rerun.tail()
    assert watcher.fired.is_set(), "the re-run never waited for the job in flight"
    assert posts == Counter(SANDBOX_CLUSTERS), posts  # one install per cluster over both runs
    assert {name: live[name]["status"] for name in SANDBOX_CLUSTERS} == dict.fromkeys(SANDBOX_CLUSTERS, "Running")
    assert sorted((j["method"], j["status"]) for j in jobs) == [("ClusterInstall", "Success")] * 3, jobs
    exchange = [r for _h, r in rerun.cluster_results("sandbox-exchange")]
    assert exchange[0]["operation"] == "in_flight" and "not starting another" in exchange[0]["msg"], exchange[0]
    assert exchange[-1]["msg"].endswith("(after waiting for the job in flight)"), exchange[-1]["msg"]
    assert all(not r["changed"] for r in exchange)
    record(
        "4. controller killed (SIGKILL) right after KubeFATE accepted the first install, then re-run",
        f"re-run converged: rc 0, 3/3 Running; installs per cluster over both runs: {dict(sorted(posts.items()))}",
        f"killed run: nothing (killed); re-run, exchange: {exchange[0]['msg']}; then: {exchange[-1]['msg']}",
        f"at the kill: {', '.join(sorted(at_kill))} install in flight; afterwards 3 install jobs, all Success",
        rerun.seconds,
    )


# ============================================================================================= 5. fifty parties


def fifty_party_inventory(directory: Path, parties: int) -> Path:
    """The sandbox federation (same group_vars) with ``parties`` FATE parties around one exchange."""
    (directory / "group_vars").mkdir(parents=True)
    for name in ("all.yml", "sandbox.yml", "sandbox_parties.yml"):
        shutil.copy(SANDBOX / "group_vars" / name, directory / "group_vars" / name)
    children = {
        f"sandbox_party_{party}": {"hosts": {f"sandbox-fate-{party}": {"fate_party_id": party}}}
        for party in range(10001, 10001 + parties)
    }
    hosts = {
        "all": {
            "children": {
                "sandbox": {
                    "children": {
                        "sandbox_parties": {"children": children},
                        "sandbox_exchange": {"hosts": {"sandbox-exchange": {"fate_deployment": "exchange"}}},
                    }
                }
            }
        }
    }
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return directory


def test_fifty_parties_with_ten_percent_api_errors_converge(tmp_path):
    """A 50-party star federation while 10 % of KubeFATE answers are 502/503/504: it converges, one install each."""
    parties = 50
    inventory = fifty_party_inventory(tmp_path / "fifty", parties)
    names = {f"fate-{p}" for p in range(10001, 10001 + parties)} | {"fate-exchange"}
    with (
        run_kube_fake() as kube,
        run_emulator(password=PASSWORD, job_seconds=2, http_error_rate=0.1, seed=50, quiet=True) as emulator,
    ):
        # One fork per deployment, as make bench does (the default 25 would wait in waves).
        outcome = deploy(kube, emulator.url, inventory=inventory, env={"ANSIBLE_FORKS": str(parties + 1)})
        requests = emulator.requests(path_prefix="/v1")
        emulator.faults(http_error_rate=0.0)
        live = clusters(emulator)
        installs = install_posts(emulator, processed_only=True)
        assert_nothing_destructive(emulator)
        assert_no_secrets(outcome.text, {"kubefate password": PASSWORD, **tokens(emulator)})

    assert outcome.rc == 0, outcome.tail()
    assert outcome.failures() == {}
    assert set(live) == names and {c["status"] for c in live.values()} == {"Running"}
    assert installs == Counter(names), installs - Counter(names)
    injected = Counter(r["status"] for r in requests if r["fault"])
    assert 0.05 * len(requests) <= sum(injected.values()) <= 0.15 * len(requests), (injected, len(requests))
    # 50 parties on 2 cores: about 100 s on an idle machine, 175 s while other test suites run; far beyond that
    # (fork waves, per-party serial work) fails.
    assert outcome.seconds < 300, outcome.seconds
    record(
        f"5. {parties}-party star federation, 10 % of KubeFATE answers 502/503/504, installs of 2 s",
        f"converged: rc 0, {len(live)}/{len(names)} clusters Running, one install each",
        f"no error; {sum(injected.values())} of {len(requests)} API requests got an injected error and were retried "
        f"({len(requests) / len(names):.1f} requests per deployment)",
        "nothing extra",
        outcome.seconds,
    )


# ============================================================================================= 6. bad inventories

KEY = "rel-Reliability-1k2l"  # the passwords of the bad inventories (all fake)
BASE_VARS = {
    "ansible_connection": "local",
    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    "fate_version": "2.0.0",
    "fate_backend": "eggroll",
    "fate_topology": "mesh",
    "fate_access": {"type": "NodePort", "address": "127.0.0.1"},
    "fate_mysql_password": KEY,
    "fate_fateboard_password": KEY,
}
ADDRESS = {"type": "NodePort", "address": "127.0.0.1"}

#: (host, its variables, the error) for host variables: wrong types, malformed values, party id 0...
HOST_RULES = [
    ("party-zero", {"fate_party_id": 0}, "fate_party_id: must be >= 1, got 0"),
    ("party-text", {"fate_party_id": "ninety"}, "fate_party_id: expected an integer, got 'ninety' (str)"),
    ("party-none", {"fate_party_id": None}, "fate_party_id: is required"),
    ("no-federation", {"fate_federation": None}, "fate_federation: is required"),
    ("version-float", {"fate_version": 2.0}, "fate_version: unknown FATE version '2.0'"),
    ("version-dict", {"fate_version": {"major": 2}}, "fate_version: expected a string such as '2.0.0', got dict"),
    ("version-none", {"fate_version": None}, "fate_version: is required for a training cluster"),
    ("chart-version", {"fate_chart_version": "v9.9.9"}, "fate_chart_version: unknown fate chart version 'v9.9.9'"),
    ("topology-list", {"fate_topology": ["star"]}, "fate_topology: expected a string, got list"),
    ("deployment", {"fate_deployment": "trainer"}, "fate_deployment: must be one of"),
    ("backend", {"fate_backend": "spark"}, "fate_backend: must be one of"),
    ("namespace", {"fate_namespace": "Bad_NS"}, "fate_namespace: 'Bad_NS' is not a valid name"),
    (
        "cluster-name",
        {"fate_cluster_name": "n" * 60},
        f"fate_cluster_name: '{'n' * 60}' is not a valid name (lower-case RFC 1123 label, at most 53 characters)",
    ),
    ("kube-cluster", {"fate_kube_cluster": " "}, "fate_kube_cluster: must not be empty"),
    ("access-text", {"fate_access": "NodePort"}, "fate_access: expected a dict, got str"),
    ("access-type", {"fate_access": {**ADDRESS, "type": "HostPort"}}, "fate_access.type: must be one of"),
    (
        "access-address",
        {"fate_access": {**ADDRESS, "address": "not an address!"}},
        "fate_access.address: expected an IP address or a host name, got 'not an address!'",
    ),
    (
        "access-addresses",
        {"fate_access": {**ADDRESS, "addresses": ["10.0.0.1"]}},
        "fate_access.addresses: expected a dict of endpoint name to address",
    ),
    (
        "access-endpoint",
        {"fate_access": {**ADDRESS, "addresses": {"nope": "10.0.0.1"}}},
        "fate_access.addresses.nope: unknown endpoint",
    ),
    ("access-keys", {"fate_access": {**ADDRESS, "port": 80}}, "fate_access: unknown keys port"),
    ("no-address", {"fate_access": {"type": "NodePort"}}, "fate_access.address: is required: "),
    ("ports-name", {"fate_node_ports": {"nope": 31000}}, "fate_node_ports.nope: unknown endpoint"),
    ("ports-text", {"fate_node_ports": {"osx": "high"}}, "fate_node_ports.osx: expected an integer port, got 'high'"),
    ("ports-range", {"fate_node_ports": {"osx": 80}}, "fate_node_ports.osx: 80 is outside the NodePort range"),
    ("port-base", {"fate_node_port_base": 30005}, "fate_node_port_base: 30005 must be a multiple of 10"),
    ("pull-policy", {"fate_pull_policy": "Sometimes"}, "fate_pull_policy: must be one of"),
    ("pull-secrets", {"fate_image_pull_secrets": "regcred"}, "fate_image_pull_secrets: expected a list, got str"),
    (
        "pull-secret",
        {"fate_image_pull_secrets": [{"name": ""}]},
        "fate_image_pull_secrets: expected a list of secret names, got item",
    ),
    ("persistence", {"fate_persistence": "maybe"}, "fate_persistence: expected a boolean, got 'maybe'"),
    ("algorithm", {"fate_algorithm": "Fancy"}, "fate_algorithm: must be one of"),
    ("device", {"fate_device": "TPU"}, "fate_device: must be one of"),
    ("gpu-count", {"fate_gpu": {"enabled": True, "count": 0}}, "fate_gpu.count: expected a positive integer, got 0"),
    ("mysql-ip", {"fate_external_mysql": {"port": 3306}}, "fate_external_mysql.ip: is required"),
    ("mysql-key", {"fate_external_mysql": {"ip": "10.0.0.9", "pass": "x"}}, "fate_external_mysql.pass: unknown key"),
    ("resources", {"fate_resources": {"python": "big"}}, "fate_resources.python: expected a dict"),
    ("overrides-text", {"fate_overrides": "modules: [osx]"}, "fate_overrides: expected a dict"),
    ("override-name", {"fate_overrides": {"name": "other"}}, "fate_overrides.name: must not be overridden"),
    ("override-modules", {"fate_overrides": {"modules": "osx"}}, "fate_overrides.modules: modules must stay a list"),
    (
        "no-nodemanager",
        {"fate_overrides": {"modules": ["osx", "clustermanager", "mysql", "python"]}},
        "modules: backend eggroll needs module(s) nodemanager, missing after fate_overrides",
    ),
    (
        "no-mysql",
        {"fate_overrides": {"modules": ["osx", "clustermanager", "nodemanager", "python"]}},
        "modules: neither the mysql module nor externalMysqlIp",
    ),
    (
        "ingress-hosts",
        {"fate_ingress_hosts": {"fateboard": "board.example"}},
        "fate_ingress_hosts.fateboard: expected a list of host names",
    ),
]

#: federation -> (its variables, {host: variables}, [(where, error)]) for the federation, topology and NodePort rules.
FEDERATION_RULES = {
    "topologies": (
        {},
        {"topo-a": {"fate_party_id": 201}, "topo-b": {"fate_party_id": 202, "fate_topology": "star"}},
        [("federation 'topologies'", "fate_topology: hosts disagree")],
    ),
    "duplicates": (
        {},
        {"dup-a": {"fate_party_id": 211}, "dup-b": {"fate_party_id": 211}},
        [
            ("host 'dup-b'", "fate_party_id: party 211 is already used by host 'dup-a'"),
            ("host 'dup-a'", "fate_namespace: namespace 'fate-211' on kube cluster 'rules' is also used by 'dup-b'"),
        ],
    ),
    "servings": (
        {},
        {
            "srv-fate": {"fate_party_id": 221},
            "srv-a": {"fate_party_id": 221, "fate_deployment": "serving"},
            "srv-b": {"fate_party_id": 221, "fate_deployment": "serving", "fate_namespace": "srv-b"},
            "srv-lonely": {"fate_party_id": 222, "fate_deployment": "serving"},
        },
        [
            ("host 'srv-b'", "fate_party_id: party 221 already has a serving cluster"),
            ("host 'srv-lonely'", "fate_party_id: serving cluster of party 222 has no training cluster"),
        ],
    ),
    "engines": (
        {},
        {"eng-a": {"fate_party_id": 231}, "eng-b": {"fate_party_id": 232, "fate_backend": "spark_pulsar"}},
        [("federation 'engines'", "fate_backend: parties use incompatible federation engines")],
    ),
    "versions": (
        {},
        {"ver-a": {"fate_party_id": 241}, "ver-b": {"fate_party_id": 242, "fate_version": "1.11.2"}},
        [("federation 'versions'", "fate_version: FATE 1.x and 2.x parties cannot federate")],
    ),
    "gateways": (
        {},
        {"gw-a": {"fate_party_id": 251}, "gw-b": {"fate_party_id": 252, "fate_chart_version": "v1.11.2"}},
        [("federation 'gateways'", "fate_chart_version: rollsite (chart < v2.0.0) and osx (v2.0.0) parties")],
    ),
    "lonely-star": (
        {"fate_topology": "star"},
        {"star-a": {"fate_party_id": 261}, "star-b": {"fate_party_id": 262}},
        [
            (
                "federation 'lonely-star'",
                "fate_deployment: a star federation needs exactly one host with fate_deployment: exchange "
                "(found: none)",
            )
        ],
    ),
    "rabbit": (
        {"fate_topology": "star"},
        {
            "rabbit-x": {"fate_deployment": "exchange", "fate_namespace": "rabbit-x"},
            "rabbit-a": {"fate_party_id": 271, "fate_backend": "spark_rabbitmq"},
        },
        [("federation 'rabbit'", "fate_topology: RabbitMQ has no exchange mode")],
    ),
    "mixed-exchange": (
        {"fate_topology": "star"},
        {
            "mixed-x": {"fate_deployment": "exchange", "fate_namespace": "mixed-x"},
            "mixed-a": {"fate_party_id": 281},
            "mixed-b": {"fate_party_id": 282, "fate_backend": "spark_pulsar"},
        },
        [("host 'mixed-x'", "fate_backend: rollsite (eggroll) and pulsar parties cannot share one exchange")],
    ),
    "serving-exchanges": (
        {"fate_topology": "star"},
        {
            "sx-x": {"fate_deployment": "exchange", "fate_namespace": "sx-x"},
            "sx-a": {"fate_party_id": 291},
            "sx-1": {"fate_deployment": "serving_exchange", "fate_namespace": "sx-1"},
            "sx-2": {"fate_deployment": "serving_exchange", "fate_namespace": "sx-2"},
        },
        [("federation 'serving-exchanges'", "fate_deployment: at most one serving_exchange per federation")],
    ),
    "empty-exchange": (
        {"fate_topology": "star"},
        {"empty-x": {"fate_deployment": "exchange", "fate_namespace": "empty-x"}},
        [("federation 'empty-exchange'", "fate_deployment: the exchange has no parties")],
    ),
    "old-gpu": (
        {"fate_version": "1.10.0"},
        {"gpu-a": {"fate_party_id": 301, "fate_gpu": {"enabled": True}}},
        [("host 'gpu-a'", "fate_gpu: GPU needs chart fate v1.11.1 or later (has v1.10.0)")],
    ),
    "ports": (
        {},
        {
            "port-a": {"fate_party_id": 311, "fate_node_ports": {"osx": 31500}},
            "port-b": {"fate_party_id": 312, "fate_node_ports": {"osx": 31500}},
        },
        [("host 'port-b'", "fate_node_ports.osx: NodePort 31500 collides with osx of host 'port-a'")],
    ),
    "blocks": (
        {},
        {
            "block-a": {"fate_party_id": 321, "fate_node_port_base": 31600},
            "block-b": {"fate_party_id": 322, "fate_node_port_base": 31600},
        },
        [("host 'block-b'", "fate_node_port_base: block 31600-31609 on kube cluster 'rules' is taken by party 321")],
    ),
    "bases": (
        {},
        {
            "base-fate": {"fate_party_id": 331, "fate_node_port_base": 31700},
            "base-serving": {"fate_party_id": 331, "fate_deployment": "serving", "fate_node_port_base": 31710},
        },
        [("host 'base-serving'", "fate_node_port_base: 31710 differs from 31700 set by host 'base-fate'")],
    ),
}


def kube_rules(kubeconfig: str, missing: str) -> dict[str, tuple[Any, list[str]]]:
    """fate_kube_clusters entry -> (its settings, the errors), one Kubernetes cluster per rule."""
    good = {
        "kubeconfig": kubeconfig,
        "node_ip": "127.0.0.1",
        "kubefate": {"password": KEY, "mariadb": {"password": KEY}},
    }

    def merged(**changes: Any) -> dict:
        out = json.loads(json.dumps(good))
        for section, values in changes.items():
            if isinstance(values, dict) and isinstance(out.get(section), dict):
                out[section].update(values)
            else:
                out[section] = values
        return out

    return {
        "k-undefined": (None, ["not defined, but fate_kube_cluster of kube-k-undefined names it"]),
        "k-text": ("oops", ["must be a mapping, got str"]),
        "k-sections": (
            {"kubeconfig": kubeconfig, "ingress": "nginx", "kubefate": ["x"]},
            ["ingress: must be a mapping, got str", "kubefate: must be a mapping, got list"],
        ),
        "k-kubeconfig-type": (merged(kubeconfig=42), ["kubeconfig: must be a file path, got"]),
        "k-kubeconfig-missing": (
            merged(kubeconfig=missing),
            [f"kubeconfig: {missing} does not exist on the controller"],
        ),
        "k-rbac": (merged(rbac="admin"), ["rbac: must be one of cluster, namespace, got 'admin'"]),
        "k-namespace": (
            merged(kubefate={"namespace": "Kube_Fate"}),
            ["kubefate.namespace: 'Kube_Fate' is not a valid namespace name"],
        ),
        "k-scheme": (merged(kubefate={"scheme": "ftp"}), ["kubefate.scheme: must be http or https, got 'ftp'"]),
        "k-url": (
            merged(kubefate={"url": "kubefate.local:8080"}),
            ["kubefate.url: must be http(s)://host[:port], got 'kubefate.local:8080'"],
        ),
        "k-no-password": (
            merged(kubefate={"password": None}),
            ["kubefate.password: required (keep it in ansible-vault)"],
        ),
        "k-admin": (
            merged(kubefate={"username": "admin", "password": "admin"}),
            ["kubefate.password: admin/admin is KubeFATE's published default"],
        ),
        "k-mariadb": (
            merged(kubefate={"mariadb": {}}),
            ["kubefate.mariadb.password: required when kubefate.manage is true"],
        ),
        "k-pull-secrets": (
            merged(kubefate={"image_pull_secrets": "regcred"}),
            ["kubefate.image_pull_secrets: must be a list of secret names"],
        ),
        "k-unmanaged": (
            merged(kubefate={"manage": False}),
            ["kubefate.url: required when kubefate.manage is false (an existing server)"],
        ),
        "k-install": (merged(ingress={"install": "yes"}), ["ingress.install: must be true or false, got 'yes'"]),
        "k-port": (merged(ingress={"http_port": 70000}), ["ingress.http_port: must be a port number, got 70000"]),
        "k-node-ip": (
            merged(rbac="namespace", node_ip=None),
            ["node_ip: required with rbac: namespace (KubeFATE cannot list nodes without cluster rights)"],
        ),
    }


def write_inventory(directory: Path, all_vars: dict, groups: dict) -> Path:
    directory.mkdir(parents=True)
    (directory / "hosts.yml").write_text(yaml.safe_dump({"all": {"vars": all_vars, "children": groups}}))
    return directory


def model_rules_inventory(directory: Path) -> tuple[Path, list[tuple[str, str]]]:
    """Every host-variable and federation rule at once; fate_kube_clusters and fate_charts of the wrong type."""
    expected = []
    types = {}
    for index, (host, variables, error) in enumerate(HOST_RULES):
        types[f"bad-{host}"] = {"fate_party_id": 101 + index, **variables}
        expected.append((f"host 'bad-{host}'", error))
    groups = {"types": {"vars": {"fate_federation": "types"}, "hosts": types}}
    for federation, (variables, hosts, errors) in FEDERATION_RULES.items():
        groups[federation.replace("-", "_")] = {"vars": {"fate_federation": federation, **variables}, "hosts": hosts}
        expected += errors
    all_vars = {
        **BASE_VARS,
        "fate_kube_cluster": "rules",
        "fate_kube_clusters": ["not", "a", "mapping"],
        "fate_charts": "fate-v2.0.0.tgz",
    }
    # (fate_charts, not a mapping either, is expected too: see test_preflight_reports_chart_errors_...)
    expected.append(("fate_kube_clusters", "must be a mapping of cluster name to settings"))
    return write_inventory(directory, all_vars, groups), expected


def kube_rules_inventory(directory: Path, kubeconfig: str) -> tuple[Path, list[tuple[str, str]]]:
    """Every fate_kube_clusters rule (one Kubernetes cluster each) and the chart source rules."""
    missing = str(directory.parent / "nowhere" / "kubeconfig")
    rules = kube_rules(kubeconfig, missing)
    hosts = {}
    for index, name in enumerate(rules):
        hosts[f"kube-{name}"] = {"fate_party_id": 401 + index, "fate_kube_cluster": name}
    # rbac: namespace needs node_ip for a NodePort deployment that has no address (alone in its federation).
    hosts["kube-k-node-ip"]["fate_access"] = {"type": "NodePort"}
    hosts["kube-k-node-ip"]["fate_federation"] = "alone"
    all_vars = {
        **BASE_VARS,
        "fate_federation": "kubes",
        "fate_kube_clusters": {name: settings for name, (settings, _e) in rules.items() if settings is not None},
        "fate_chart_dir": str(directory.parent / "no-charts"),
        "fate_charts": {
            "fate-v2.0.0": str(directory.parent / "no-charts" / "fate-v2.0.0.tgz"),
            "fate-exchange-v1.11.2": 42,
            "nonsense": "https://charts.example/nonsense.tgz",
        },
    }
    expected = [(f"fate_kube_clusters.{name}", error) for name, (_s, errors) in rules.items() for error in errors]
    expected += [
        ("fate_chart_dir", f"{directory.parent / 'no-charts'} is not a directory on the controller"),
        ("fate_charts.fate-v2.0.0", f"{directory.parent / 'no-charts' / 'fate-v2.0.0.tgz'} does not exist"),
        ("fate_charts.fate-exchange-v1.11.2", "must be a file path or an http(s) URL"),
        ("fate_charts.nonsense", "not a chart package name such as fate-v2.0.0"),
    ]
    return write_inventory(directory, all_vars, {"kubes": {"hosts": hosts}}), expected


def excerpt(message: str, *needles: str) -> str:
    """The errors of a joined preflight message that contain each needle (one per needle), and how many in all."""
    errors = re.split(r"; (?=host '|federation '|fate_)", message)
    picked = [next(e for e in errors if needle in e) for needle in needles]
    return "; ".join(picked) + f" (and {len(errors) - len(picked)} more)"


def refusal(outcome: Outcome) -> str:
    """The preflight's one failure message (every error of the inventory, joined)."""
    failures = outcome.failures()
    messages = {m for ms in failures.values() for m in ms}
    assert len(messages) == 1, failures
    return messages.pop()


def assert_refused(message: str, expected: list[tuple[str, str]]) -> None:
    missing = []
    for where, error in expected:
        if where.startswith("host '"):
            pattern = re.escape(where) + r"(?: \(groups: [^)]*\))?: " + re.escape(error)
        else:
            pattern = re.escape(where) + r"[.:]\s?" + re.escape(error)
        if not re.search(pattern, message):
            missing.append(f"{where}: {error}")
    assert missing == [], "\n".join(missing) + "\n--- message ---\n" + message.replace("; ", ";\n")


@pytest.fixture(scope="module")
def idle_standins():
    """Stand-ins that a refused inventory must never reach."""
    with run_kube_fake() as kube, run_emulator(password=KEY, quiet=True) as emulator:
        yield kube, emulator


def refused_run(standins, inventory: Path, json_output: bool = True) -> Outcome:
    kube, emulator = standins
    emulator.clear_requests()
    kube.clear_requests()
    outcome = deploy(kube, emulator.url, inventory=inventory, json_output=json_output)
    assert emulator.requests() == [], "KubeFATE was called"
    assert kube.requests() == [], "Kubernetes was called"
    assert_no_secrets(outcome.text, {"inventory password": KEY, "sandbox password": PASSWORD})
    return outcome


@dataclass
class Refusal:
    outcome: Outcome
    message: str
    expected: list[tuple[str, str]]


def refuse(standins, inventory: Path, expected: list[tuple[str, str]]) -> Refusal:
    outcome = refused_run(standins, inventory)
    assert outcome.rc != 0, outcome.tail()
    return Refusal(outcome, refusal(outcome), expected)


@pytest.fixture(scope="module")
def model_refusal(idle_standins, tmp_path_factory):
    inventory, expected = model_rules_inventory(tmp_path_factory.mktemp("model") / "inventory")
    return refuse(idle_standins, inventory, expected)


@pytest.fixture(scope="module")
def kube_refusal(idle_standins, tmp_path_factory):
    kube, _emulator = idle_standins
    inventory, expected = kube_rules_inventory(tmp_path_factory.mktemp("kube") / "inventory", str(kube.kubeconfig))
    return refuse(idle_standins, inventory, expected)


def test_bad_host_and_federation_variables_are_refused_before_any_call(model_refusal):
    """Every host-variable, federation, topology and NodePort rule in one inventory: each error names the host or
    federation, the field and why; KubeFATE and Kubernetes are never called (checked by refused_run)."""
    assert_refused(model_refusal.message, model_refusal.expected)
    record(
        f"6a. bad inventory: {len(HOST_RULES)} host-variable rules (wrong types, malformed values, party id 0...), "
        f"{len(FEDERATION_RULES)} federation, topology and NodePort rules, fate_kube_clusters not a mapping, "
        "in one inventory",
        f"refused in preflight, rc {model_refusal.outcome.rc}: all {len(model_refusal.expected)} expected errors "
        "named in one message",
        excerpt(
            model_refusal.message,
            "host 'bad-party-zero'",
            "host 'bad-version-float'",
            "host 'bad-access-text'",
            "federation 'lonely-star'",
        ),
        "zero requests to KubeFATE and to Kubernetes",
        model_refusal.outcome.seconds,
    )


def test_bad_kube_clusters_and_chart_sources_are_refused_before_any_call(kube_refusal):
    """Every fate_kube_clusters rule (a missing kubeconfig, admin/admin...) and the chart source rules."""
    assert_refused(kube_refusal.message, kube_refusal.expected)
    record(
        f"6b. bad inventory: {len(kube_refusal.expected) - 3} fate_kube_clusters rules (missing kubeconfig, "
        "admin/admin, no MariaDB password...) and 3 chart source rules, one Kubernetes cluster per rule",
        f"refused in preflight, rc {kube_refusal.outcome.rc}: all {len(kube_refusal.expected)} expected errors "
        "named in one message",
        excerpt(kube_refusal.message, "k-kubeconfig-missing", "k-admin", "k-mariadb"),
        "zero requests to KubeFATE and to Kubernetes",
        kube_refusal.outcome.seconds,
    )


def test_preflight_reports_chart_errors_with_a_malformed_kube_clusters(model_refusal):
    assert_refused(
        model_refusal.message,
        [("fate_charts", "must map a chart package name (fate-v2.0.0) to a file path or an http(s) URL")],
    )


def test_preflight_reports_a_bad_party_id_once(model_refusal):
    assert "fate-None" not in model_refusal.message


def test_preflight_names_plain_types(kube_refusal):
    assert "_AnsibleTagged" not in kube_refusal.message
    assert "fate_kube_clusters.k-kubeconfig-type.kubeconfig: must be a file path, got int" in kube_refusal.message


def test_malformed_yaml_in_group_vars_is_refused(idle_standins, tmp_path):
    """A YAML syntax error in a group_vars file fails the run at the first task that reads the variables (the
    preflight), before any call; the operator (default callback) is shown the parser's error."""
    inventory = copy_sandbox(tmp_path / "sandbox")
    (inventory / "group_vars" / "sandbox_party_9999.yml").write_text("fate_party_id: [9999\n")
    outcome = refused_run(idle_standins, inventory, json_output=False)
    assert outcome.rc != 0
    shown = [line for line in outcome.text.splitlines() if "YAML parsing failed" in line]
    assert shown and "did not find expected ',' or ']'" in shown[0], outcome.tail()
    record(
        "6c. bad inventory: YAML syntax error in a group_vars file",
        f"refused at the preflight's first task, rc {outcome.rc}",
        shown[0][shown[0].index("YAML parsing failed") :]
        + " (the file is not named)" * ("sandbox_party_9999" not in outcome.text),
        "zero requests to KubeFATE and to Kubernetes",
        outcome.seconds,
    )


def test_malformed_hosts_file_is_refused(idle_standins, tmp_path):
    inventory = copy_sandbox(tmp_path / "sandbox")
    with (inventory / "hosts.yml").open("a") as handle:
        handle.write("  broken: [\n")
    outcome = refused_run(idle_standins, inventory)
    assert outcome.rc != 0, "rc 0 with no host deployed:\n" + outcome.stderr[-1500:]


# ============================================================================================= 7b. TLS


def make_certificates(directory: Path, names: tuple[str, ...]) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate it signed for ``names`` (DNS names or IP addresses)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    valid = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fateops reliability test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = []
    for name in names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt_names.append(x509.DNSName(name))
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def task_seconds(run, name: str) -> float:
    for play in run.data.get("plays", []):
        for task in play.get("tasks", []):
            if task["task"]["name"] == name:
                span = task["task"]["duration"]
                start, end = (datetime.datetime.fromisoformat(span[k].replace("Z", "+00:00")) for k in ("start", "end"))
                return (end - start).total_seconds()
    raise KeyError(name)


def test_tls_is_verified_by_default_and_a_bad_certificate_fails_clearly(tmp_path):
    """KubeFATE behind HTTPS with a certificate from a private CA (for the name localhost only): by default the
    modules refuse it at once with what to set; with ca_path they also check the host name; with both right
    they connect."""
    ca, certificate, key = make_certificates(tmp_path, ("localhost",))
    with run_emulator(password=PASSWORD, tls_cert=str(certificate), tls_key=str(key), quiet=True) as emulator:
        by_ip = f"https://127.0.0.1:{emulator.port}"
        by_name = f"https://localhost:{emulator.port}"
        tasks = [
            ("untrusted", "version_info", {"url": by_ip}),
            ("untrusted, cluster_info", "cluster_info", {"url": by_ip}),
            ("wrong host name", "version_info", {"url": by_ip, "ca_path": str(ca)}),
            ("trusted", "version_info", {"url": by_name, "ca_path": str(ca)}),
        ]
        started = time.monotonic()
        run = run_tasks(
            [
                {"name": name, f"fateops.kubefate.{module}": params, "ignore_errors": True}
                for name, module, params in tasks
            ],
            {"password": PASSWORD},
            args=("-vvv",),
        )
        seconds = time.monotonic() - started
        logins = emulator.requests(path_prefix="/v1/user/login")
        issued = tokens(emulator)

    untrusted = run.task("untrusted")
    expected = f"TLS certificate of KubeFATE at {by_ip} is not trusted (unable to get local issuer certificate)"
    assert untrusted.get("failed") and expected in untrusted["msg"], untrusted
    assert "set ca_path to the CA certificate (PEM) that signed it" in untrusted["msg"]
    assert run.task("untrusted, cluster_info").get("failed")
    assert expected in run.task("untrusted, cluster_info")["msg"]
    mismatch = run.task("wrong host name")
    assert mismatch.get("failed") and "mismatch, certificate is not valid for '127.0.0.1'" in mismatch["msg"], mismatch
    assert "use a url whose host name or IP address the certificate lists" in mismatch["msg"]
    trusted = run.task("trusted")
    assert not trusted.get("failed") and trusted["version"] == "v1.4.5", trusted
    # A certificate error is not retried as a transient fault: each refusal is immediate.
    for name in ("untrusted", "untrusted, cluster_info", "wrong host name"):
        assert task_seconds(run, name) < 5, (name, task_seconds(run, name))
    assert len(logins) == 1  # only the trusted connection reached KubeFATE
    assert_no_secrets(run.stdout + run.stderr, {"kubefate password": PASSWORD, **issued})
    record(
        "7b. TLS: KubeFATE's certificate signed by a private CA, for localhost only",
        "refused at once without ca_path (version_info, cluster_info) and for the IP address with it; "
        "connected with ca_path and the right host name",
        untrusted["msg"],
        "nothing: only the trusted connection reached KubeFATE",
        seconds,
    )
