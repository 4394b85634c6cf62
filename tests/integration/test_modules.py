"""The modules, run by ansible-playbook against the KubeFATE emulator.

Each test asserts on what the module returned and on the requests the emulator recorded (write calls
above all: check mode and no-op re-runs must make none).
"""

from __future__ import annotations

import threading
import time

import pytest
import yaml
from ansible_run import SHARED, run_tasks
from kubefate_emulator.testing import run_emulator

pytestmark = pytest.mark.skipif(
    not (SHARED / "kubefate").is_dir(), reason="reference KubeFATE charts (../shared) absent"
)

EXAMPLE = SHARED / "kubefate" / "examples" / "v1.11.2" / "cluster.yaml"
FATE_200_CHART = SHARED / "kubefate" / "charts" / "fate-v2.0.0.tgz"


def spec(**changes):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["python"] = {"logLevel": "INFO"}
    data.update(changes)
    return data


def defaults(emu):
    """Connection options for the whole action group (module_defaults of a group may only hold options
    every module of the group accepts)."""
    return {"url": emu.url, "password": "admin"}


def cluster_task(title="cluster", **params):
    params.setdefault("wait_sleep", 1)
    params.setdefault("wait_timeout", 60)
    return {"name": title, "fateops.kubefate.cluster": params, "register": "out", "ignore_errors": True}


def writes(emu):
    return [(r["method"], r["path"]) for r in emu.writes()]


@pytest.fixture(scope="module")
def emu():
    with run_emulator("--job-seconds", "1", "--module-spread", "0.5") as emulator:
        yield emulator


def test_install_then_noop_then_update_then_check_mode(emu):
    emu.clear_requests()
    first = run_tasks([cluster_task(definition=spec(), wait=True)], defaults(emu))
    result = first.task("cluster")
    assert first.rc == 0, first.stdout[-3000:]
    assert result["changed"] is True
    assert result["operation"] == "install"
    assert result["msg"].startswith("cluster fate-9999 installed, job ")
    assert " Success in " in result["msg"]
    assert result["job"]["status"] == "Success"
    assert result["uuid"] and result["cluster"]["status"] == "Running"
    assert {row["module"] for row in result["sub_jobs"]} == {
        "clustermanager",
        "nodemanager",
        "rollsite",
        "client",
        "fateboard",
        "mysql",
        "python",
    }
    assert all(row["module_status"] == "Available" for row in result["sub_jobs"])
    assert writes(emu) == [("POST", "/v1/cluster")]
    posted = emu.writes()[0]["body"]
    assert posted["cover"] is False
    assert "meta_data" not in result["job"] or "data" not in result["job"]["meta_data"]

    emu.clear_requests()
    again = run_tasks([cluster_task(definition=spec(), wait=True)], defaults(emu))
    noop = again.task("cluster")
    assert noop["changed"] is False, noop["msg"]
    assert noop["msg"] == "cluster fate-9999 is up to date (Running)"
    assert writes(emu) == []
    reads = [(r["method"], r["path"]) for r in emu.requests()]
    assert reads == [("POST", "/v1/user/login"), ("GET", "/v1/cluster/"), ("GET", "/v1/job/")]
    assert noop["api_calls"] == 3

    emu.clear_requests()
    changed = spec()
    changed["python"] = dict(changed.get("python") or {}, logLevel="DEBUG")
    check = run_tasks([cluster_task(definition=changed, wait=True)], defaults(emu), args=("--check", "--diff"))
    checked = check.task("cluster")
    assert checked["changed"] is True
    assert checked["msg"].startswith("cluster fate-9999 would be updated: python.logLevel")
    assert "logLevel: DEBUG" in checked["diff"]["after"] and "logLevel: DEBUG" not in checked["diff"]["before"]
    assert writes(emu) == []

    emu.clear_requests()
    update = run_tasks([cluster_task(definition=changed, wait=True)], defaults(emu))
    updated = update.task("cluster")
    assert updated["changed"] is True and updated["operation"] == "update", updated["msg"]
    assert updated["msg"].startswith("cluster fate-9999 updated (python.logLevel), job ")
    assert writes(emu) == [("PUT", "/v1/cluster")]
    assert updated["cluster"]["revision"] == 2


def test_diff_masks_secrets(emu):
    data = spec(name="fate-7777", namespace="fate-7777", partyId=7777)
    data["mysql"] = {"password": "Sup3r-s3cret-pw", "user": "fate"}
    run = run_tasks([cluster_task(definition=data)], defaults(emu), args=("--check", "--diff", "-vvv"))
    result = run.task("cluster")
    assert result["changed"] is True
    assert "password: '********'" in result["diff"]["after"]
    assert "Sup3r-s3cret-pw" not in run.stdout + run.stderr


def test_state_absent_twice(emu):
    data = spec(name="fate-8888", namespace="fate-8888", partyId=8888)
    run = run_tasks(
        [
            cluster_task("install", definition=data, wait=True),
            cluster_task("delete", name="fate-8888", namespace="fate-8888", state="absent", wait=True),
            cluster_task("delete again", name="fate-8888", namespace="fate-8888", state="absent", wait=True),
        ],
        defaults(emu),
    )
    assert run.task("install")["changed"] is True
    deleted = run.task("delete")
    assert deleted["changed"] is True and deleted["msg"].startswith("cluster fate-8888 deleted, job ")
    again = run.task("delete again")
    assert again["changed"] is False and again["msg"] == "cluster fate-8888 is absent"
    states = {c["name"]: c["status"] for c in emu.state()["clusters"] if c["name"] == "fate-8888"}
    assert states == {"fate-8888": "Deleted"}


def test_missing_identity_and_mismatch_are_refused_without_calls(emu):
    emu.clear_requests()
    run = run_tasks(
        [
            cluster_task("mismatch", definition=spec(), name="other-name"),
            cluster_task("missing", definition={"partyId": 1}),
        ],
        defaults(emu),
    )
    expected = "name='other-name' but the cluster.yaml says name: 'fate-9999'; they must be equal"
    assert run.task("mismatch")["msg"] == expected
    assert run.task("missing")["msg"].startswith("missing name, namespace, chart_name, chart_version")
    assert emu.requests() == []


def test_failing_module_names_the_sub_job_and_pod_phase():
    with run_emulator("--job-seconds", "1", "--fail-module", "python", "--time-limit", "3") as emu:
        run = run_tasks([cluster_task(definition=spec(), wait=True)], defaults(emu))
        result = run.task("cluster")
        assert result["failed"] is True
        msg = result["msg"]
        assert msg.startswith("cluster fate-9999: job ")
        assert "(ClusterInstall) ended Failed" in msg
        assert "not Available: python (Progressing)" in msg
        assert "last state: 'checkout Cluster status timeOut!'" in msg
        assert result["sub_jobs"] and result["job"]["status"] == "Failed"


def test_deadline_on_a_job_that_never_ends():
    with run_emulator("--job-seconds", "1", "--stuck") as emu:
        started = time.monotonic()
        run = run_tasks([cluster_task(definition=spec(), wait=True, wait_timeout=4)], defaults(emu))
        elapsed = time.monotonic() - started
        msg = run.task("cluster")["msg"]
        assert "will never finish" in msg or "still Running after" in msg, msg
        assert elapsed < 30


def test_stop_an_install():
    with run_emulator("--job-seconds", "30") as emu:
        run = run_tasks(
            [
                cluster_task("install", definition=spec()),
                {
                    "name": "stop",
                    "fateops.kubefate.job": {
                        "uuid": "{{ out.job.uuid }}",
                        "state": "stopped",
                        "wait": True,
                        "wait_sleep": 1,
                    },
                    "register": "stop",
                    "ignore_errors": True,
                },
                {
                    "name": "stop again",
                    "fateops.kubefate.job": {"uuid": "{{ out.job.uuid }}", "state": "stopped"},
                    "ignore_errors": True,
                },
            ],
            defaults(emu),
        )
        assert run.task("install")["changed"] is True and run.task("install")["job"]["status"] == "Pending"
        stop = run.task("stop")
        assert stop["changed"] is True and stop["job"]["status"] == "Canceled", stop["msg"]
        again = run.task("stop again")
        assert again["changed"] is False and "already Canceled" in again["msg"]
        assert any(r["method"] == "PUT" and r["query"] == {"jobStatus": "stop"} for r in emu.writes())


def test_rerun_waits_for_the_job_in_flight_instead_of_installing_twice():
    with run_emulator("--job-seconds", "4") as emu:
        first = run_tasks([cluster_task(definition=spec())], defaults(emu))  # started, not waited for
        assert first.task("cluster")["job"]["status"] == "Pending"
        second = run_tasks([cluster_task(definition=spec(), wait=True)], defaults(emu))
        result = second.task("cluster")
        assert not result.get("failed"), result["msg"]
        assert result["changed"] is False
        assert "after waiting for the job in flight" in result["msg"]
        assert [w for w in writes(emu) if w[1] == "/v1/cluster"] == [("POST", "/v1/cluster")]


def test_server_restart_during_a_wait_relogs_and_stops_at_the_deadline():
    with run_emulator("--job-seconds", "20") as emu:

        def restart_soon():
            time.sleep(3)
            emu.restart()

        thread = threading.Thread(target=restart_soon)
        thread.start()
        run = run_tasks([cluster_task(definition=spec(), wait=True, wait_timeout=10)], defaults(emu))
        thread.join()
        msg = run.task("cluster")["msg"]
        assert "will never finish" in msg, msg
        logins = [r for r in emu.requests() if r["path"] == "/v1/user/login"]
        assert len(logins) >= 2  # the token died with the restart and the module logged in again


def test_info_modules_chart_and_logs(emu):
    run = run_tasks(
        [
            {"name": "version", "fateops.kubefate.version_info": {"wait": True, "wait_timeout": 10}},
            {"name": "upload", "fateops.kubefate.chart": {"src": str(FATE_200_CHART)}},
            {"name": "upload again", "fateops.kubefate.chart": {"src": str(FATE_200_CHART)}},
            {"name": "charts", "fateops.kubefate.chart_info": {"name": "fate", "version": "v2.0.0"}},
            cluster_task("install", definition=spec(name="fate-6666", namespace="fate-6666", partyId=6666), wait=True),
            {"name": "info", "fateops.kubefate.cluster_info": {"name": "fate-6666", "namespace": "fate-6666"}},
            {"name": "jobs", "fateops.kubefate.job_info": {"cluster": "fate-6666", "method": ["ClusterInstall"]}},
            {"name": "logs", "fateops.kubefate.log": {"name": "fate-6666", "namespace": "fate-6666", "tail": 5}},
        ],
        defaults(emu),
    )
    assert run.task("version")["version"] == "v1.4.5"
    assert run.task("upload")["changed"] is True and run.task("upload")["msg"] == "chart fate v2.0.0 uploaded"
    assert run.task("upload again")["changed"] is False
    assert [c["version"] for c in run.task("charts")["charts"]] == ["v2.0.0"]
    info = run.task("info")["clusters"][0]
    assert info["status"] == "Running" and "Info" in info and "values" not in info
    jobs = run.task("jobs")["jobs"]
    assert len(jobs) == 1 and jobs[0]["status"] == "Success" and "data" not in jobs[0]["meta_data"]
    logs = run.task("logs")
    assert logs["lines"] > 0 and logs["log"]
