"""FATE's toy test: pairs from the plan, the command per FATE version and chart, and the verdict from its output.

The outputs below have the shape ``flow test toy`` prints: FATE 1.x (``flow_client``: status lines, then the
guest's secure_add_guest INFO lines or its ERROR.log) and FATE 2.x (``fate_client``: status lines, then a
download-log hint), and the JSON the CLI prints when FATE Flow refuses or cannot be reached.
"""

import json
import os
import shlex
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.fateops.kubefate.plugins.filter.verify import (
    FilterModule,
    verify_pairs,
    verify_report,
    verify_toy_command,
    verify_toy_result,
)
from ansible_collections.fateops.kubefate.plugins.module_utils.verify import (
    VerifyError,
    fate_major,
    parse_pairs,
    report,
    toy_command,
    toy_pairs,
    toy_result,
)
from federation_inventory import federation, plan_of

JOB_1X = "202311231015334573020"
JOB_2X = "202401181130275529800"


def log_1x(level, where, line, message, job=JOB_1X):
    """One line of a FATE 1.x job log (INFO.log, ERROR.log), as the 1.x CLI prints them after the status."""
    return f"[{level}] [2023-11-23 10:15:41,108] [{job}] [4631:140427617109824] - [{where}] [line:{line}]: {message}"


GUEST_STEPS = (
    "begin to make guest data",
    "split data into two random parts",
    "share one random part data to host",
    "get share of one random part data from host",
    "begin to get sum of guest and host",
    "receive host sum from guest",
    "success to calculate secure_sum, it is 2000.0000000000002",
)
FATE_1X_SUCCESS = (
    "\n".join(
        [f"toy test job {JOB_1X} is {status}" for status in ("waiting", "waiting", "running", "running", "success")]
        + [
            log_1x(
                "INFO",
                "secure_add_guest._init_runtime_parameters",
                51,
                "begin to init parameters of secure add example guest",
            )
        ]
        + [log_1x("INFO", "secure_add_guest.run", 100 + 3 * n, step) for n, step in enumerate(GUEST_STEPS)]
    )
    + "\n"
)

ROLLSITE_DETAILS = (
    "[Roll Site Error TransInfo] location msg=UNAVAILABLE: io exception "
    "stack trace=io.grpc.StatusRuntimeException: UNAVAILABLE: io exception"
)
FATE_1X_ROLLSITE_UNAVAILABLE = (
    "\n".join(
        [f"toy test job {JOB_1X} is {status}" for status in ("waiting", "running", "failed")]
        + [
            log_1x("ERROR", "task_executor._run_", 266, "<_InactiveRpcError of RPC that terminated with:"),
            "\tstatus = StatusCode.UNAVAILABLE",
            f'\tdetails = "{ROLLSITE_DETAILS}"',
            '\tdebug_error_string = "{"description":"Error received from peer ipv4:10.96.12.7:9370","grpc_status":14}"',
            ">",
            "Traceback (most recent call last):",
            '  File "/data/projects/fate/fateflow/python/fate_flow/worker/task_executor.py", line 195, in _run_',
            "    cpn_output = run_object.run(cpn_input)",
        ]
    )
    + "\n"
)

FATE_1X_FAILED_PLAIN_ERROR = (
    "\n".join(
        [f"toy test job {JOB_1X} is {status}" for status in ("running", "failed")]
        + [log_1x("ERROR", "federation.get", 88, "get from host 10000 timeout: FederationTimeoutError after 600s")]
    )
    + "\n"
)

FATE_1X_TIMEOUT = f"""\
toy test job {JOB_1X} is waiting
toy test job {JOB_1X} is running
toy test job {JOB_1X} is running
check job status timeout
get log failed, please check PROJECT_BASE/logs/{JOB_1X} on the fateflow server machine
"""

FATE_1X_CONNECTION_REFUSED = """\
{
    "retcode": 100,
    "retmsg": "Connection refused. Please check if the fate flow service is started"
}
"""

# The CLI's prettify: json.dumps(answer, indent=4); here the host's answer nested in the guest's.
FATE_1X_HOST_REFUSED = (
    json.dumps(
        {
            "jobId": "202311231040331582590",
            "retcode": 103,
            "retmsg": "create job failed: "
            + json.dumps({"host": {"10000": {"retcode": 104, "retmsg": "Federated schedule error, UNAVAILABLE"}}}),
        },
        indent=4,
    )
    + "\n"
)

FATE_2X_SUCCESS = f"""\
toy test job {JOB_2X} is waiting
toy test job {JOB_2X} is waiting
toy test job {JOB_2X} is running
toy test job {JOB_2X} is running
toy test job {JOB_2X} is running
toy test job {JOB_2X} is success
"""

FATE_2X_FAILED = f"""\
toy test job {JOB_2X} is waiting
toy test job {JOB_2X} is running
toy test job {JOB_2X} is failed
You can use the command of 'flow job download-log -j {JOB_2X} -o $download_dir' to download the logs.
"""

FATE_2X_TIMEOUT = f"""\
toy test job {JOB_2X} is waiting
toy test job {JOB_2X} is running
timeout...
You can use the command of 'flow job download-log -j {JOB_2X} -o $download_dir' to download the logs.
"""

FATE_2X_REFUSED = """\
{
    "code": 1003,
    "message": "Party 10001 is not in the route table of site 9999"
}
"""


def star(version="2.0.0", parties=(9999, 10000, 9998), **kwargs):
    return plan_of(federation(parties, topology="star", backend="spark_pulsar", version=version, **kwargs))


def executed(stdout="", rc=0, stderr="", pair=None):
    """A kubernetes.core.k8s_exec result as registered in a loop over the pairs."""
    result = {"changed": True, "rc": rc, "return_code": rc, "stdout": stdout, "stderr": stderr}
    if pair is not None:
        result.update(item=pair, ansible_loop_var="item")
    return result


# ------------------------------------------------------------------------------------------------ pairs


def test_every_pair_of_a_star_federation_once_smaller_id_as_guest():
    plan = star()
    out = toy_pairs(plan)
    assert out["errors"] == []
    assert [(p["guest"], p["host"]) for p in out["pairs"]] == [(9998, 9999), (9998, 10000), (9999, 10000)]
    first = out["pairs"][0]
    assert first["guest_host"] == "fed-fate-9998"
    assert first["namespace"] == "fate-9998"
    assert (first["pod"], first["container"]) == ("client-0", "client")
    assert first["federation"] == "fed" and first["kube_cluster"] == "default"
    # The exchange is no party: it is never a guest or a host.
    assert {p["guest_host"] for p in out["pairs"]} == {"fed-fate-9998", "fed-fate-9999"}


def test_mesh_federations_are_tested_too_and_each_on_its_own():
    hostvars = federation((9999, 10000), name="one", kube=lambda pid: "dc1")
    hostvars.update(federation((9999, 10000, 8888), name="two", kube=lambda pid: "dc2" if pid == 8888 else "dc3"))
    out = toy_pairs(plan_of(hostvars))
    assert [(p["federation"], p["guest"], p["host"]) for p in out["pairs"]] == [
        ("one", 9999, 10000),
        ("two", 8888, 9999),
        ("two", 8888, 10000),
        ("two", 9999, 10000),
    ]
    assert out["pairs"][1]["guest_host"] == "two-fate-8888" and out["pairs"][1]["kube_cluster"] == "dc2"


def test_a_single_party_tests_itself():
    out = toy_pairs(plan_of(federation((9999,))))
    assert [(p["guest"], p["host"]) for p in out["pairs"]] == [(9999, 9999)]
    assert "-gid 9999 -hid 9999" in out["pairs"][0]["command"]


@pytest.mark.parametrize(
    "given",
    [
        "10000:9999, 9998:10000",
        ["10000:9999", "9998-10000"],
        [[10000, 9999], ["9998", "10000"]],
        [{"guest": 10000, "host": 9999}, {"guest": "9998", "host": 10000}],
    ],
)
def test_pairs_given_in_every_shape(given):
    assert parse_pairs(given) == [(10000, 9999), (9998, 10000)]
    out = toy_pairs(star(), given)
    assert [(p["guest"], p["host"], p["guest_host"]) for p in out["pairs"]] == [
        (10000, 9999, "fed-fate-10000"),
        (9998, 10000, "fed-fate-9998"),
    ]


def test_a_pair_no_federation_has_is_an_error():
    out = toy_pairs(star(), "9999:10000,9999:12345")
    assert [(p["guest"], p["host"]) for p in out["pairs"]] == [(9999, 10000)]
    assert out["errors"] == ["pair 9999:12345: no federation has both parties (fed: 9998 9999 10000)"]


@pytest.mark.parametrize("bad", ["9999", "9999:ten", [[1, 2, 3]], 42, [{"guest": 1}]])
def test_malformed_pairs_are_refused(bad):
    with pytest.raises(VerifyError):
        parse_pairs(bad)


def test_hosts_keep_the_pairs_whose_guest_is_in_the_play():
    out = toy_pairs(star(), hosts=["fed-fate-9999", "fed-exchange"])
    assert [(p["guest"], p["host"]) for p in out["pairs"]] == [(9999, 10000)]
    assert toy_pairs(star(), hosts="fed-fate-10000")["pairs"] == []  # 10000 is never the guest by default


# ------------------------------------------------------------------------------------------------ commands


def test_fate_2_command_has_no_task_cores():
    cluster = star()["clusters"]["fed-fate-9999"]
    toy = toy_command(cluster, 10000, timeout=600, task_cores=4)
    assert toy["fate_major"] == 2
    assert toy["argv"] == ["flow", "test", "toy", "-gid", "9999", "-hid", "10000", "--timeout", "600"]
    assert shlex.split(toy["command"]) == [
        "bash",
        "-c",
        'flow init --ip "${FATE_FLOW_IP:-fateflow}" --port "${FATE_FLOW_PORT:-9380}" > /dev/null'
        " && flow test toy -gid 9999 -hid 10000 --timeout 600",
    ]


def test_fate_1_command_takes_task_cores():
    cluster = plan_of(federation((9999, 10000), version="1.11.2"))["clusters"]["fed-fate-9999"]
    assert cluster["chart_version"] == "v1.11.2"
    toy = toy_command(cluster, 10000, task_cores=4)
    assert toy["fate_major"] == 1
    assert toy["argv"][-4:] == ["--timeout", "300", "--task-cores", "4"]
    assert toy_command(cluster, 10000)["argv"][-2:] == ["--timeout", "300"]


def test_without_the_client_module_the_fateflow_pod_runs_the_cli():
    plan = plan_of(
        federation(
            (9999, 10000),
            per_party={
                9999: {
                    "fate_overrides": {
                        "modules": ["mysql", "python", "osx", "nodemanager", "clustermanager", "fateboard"]
                    }
                }
            },
        )
    )
    cluster = plan["clusters"]["fed-fate-9999"]
    assert "client" not in cluster["cluster_yaml"]["modules"]
    toy = toy_command(cluster, 10000)
    assert (toy["pod"], toy["container"]) == ("python-0", "fateflow")
    assert "flow init --ip 127.0.0.1 --port 9380 > /dev/null && flow test toy" in toy["command"]
    client = toy_command(plan["clusters"]["fed-fate-10000"], 9999, pod="python")
    assert (client["pod"], client["container"]) == ("python-0", "fateflow")
    assert toy_command(plan["clusters"]["fed-fate-10000"], 9999, pod="client")["pod"] == "client-0"


@pytest.mark.parametrize(
    ("cluster", "kwargs"),
    [
        ({"party_id": 1, "deployment": "exchange"}, {}),
        ({"deployment": "fate"}, {}),
        ({"party_id": 9999, "deployment": "fate"}, {"pod": "notebook"}),
        ({"party_id": 9999, "deployment": "fate"}, {"timeout": "soon"}),
    ],
)
def test_bad_command_arguments_are_refused(cluster, kwargs):
    with pytest.raises(VerifyError):
        toy_command(cluster, 10000, **kwargs)


@pytest.mark.parametrize(("version", "major"), [("1.9.1", 1), ("1.11.2", 1), ("2.0.0", 2), ("v2.0.0", 2), (None, 0)])
def test_fate_major(version, major):
    assert fate_major(version) == major


def test_the_command_runs_as_kubernetes_exec_splits_it(tmp_path):
    """k8s_exec runs shlex.split(command) in the container: the flow CLI gets these arguments."""
    (tmp_path / "flow").write_text('#!/bin/sh\necho "$@" >> "$FLOW_CALLS"\necho "toy test job 1 is success"\n')
    (tmp_path / "flow").chmod(0o755)
    calls = tmp_path / "calls"
    toy = toy_command(star()["clusters"]["fed-fate-9999"], 10000)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "FLOW_CALLS": str(calls)}
    for extra, address in (
        ({}, "fateflow --port 9380"),
        ({"FATE_FLOW_IP": "10.1.2.3", "FATE_FLOW_PORT": "9381"}, "10.1.2.3 --port 9381"),
    ):
        calls.unlink(missing_ok=True)
        proc = subprocess.run(
            shlex.split(toy["command"]), env={**env, **extra}, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "toy test job 1 is success\n"  # flow init's own output is dropped
        assert calls.read_text().splitlines() == [f"init --ip {address}", "test toy -gid 9999 -hid 10000 --timeout 300"]


# ------------------------------------------------------------------------------------------------ results

PAIR = {
    "federation": "fed",
    "guest": 9999,
    "host": 10000,
    "guest_host": "fed-fate-9999",
    "namespace": "fate-9999",
    "pod": "client-0",
    "command": "bash -c 'flow test toy -gid 9999 -hid 10000'",
}


def test_fate_1_success_reports_the_secure_sum():
    row = toy_result(executed(FATE_1X_SUCCESS), PAIR)
    assert row["passed"] is True and row["result"] == "pass"
    assert (row["job_id"], row["job_status"]) == (JOB_1X, "success")
    assert row["reason"] == f"toy test job {JOB_1X} is success, secure_sum 2000.0000000000002"
    assert (row["guest"], row["host"], row["namespace"], row["pod"]) == (9999, 10000, "fate-9999", "client-0")


def test_fate_2_success():
    row = toy_result(executed(FATE_2X_SUCCESS, pair=PAIR))
    assert row["passed"] is True
    assert row["reason"] == f"toy test job {JOB_2X} is success"
    assert row["guest_host"] == "fed-fate-9999"  # the pair comes from the loop item


def test_fate_1_failure_gives_the_grpc_details():
    row = toy_result(executed(FATE_1X_ROLLSITE_UNAVAILABLE), PAIR)
    assert row["passed"] is False and row["result"] == "fail" and row["job_status"] == "failed"
    assert row["reason"].startswith(
        f"toy test job {JOB_1X} is failed: [Roll Site Error TransInfo] location msg=UNAVAILABLE: io exception"
    )
    assert len(row["reason"]) <= 240 and "\n" not in row["reason"]


def test_fate_1_failure_without_grpc_details_gives_the_log_message():
    row = toy_result(executed(FATE_1X_FAILED_PLAIN_ERROR), PAIR)
    assert row["reason"] == (
        f"toy test job {JOB_1X} is failed: get from host 10000 timeout: FederationTimeoutError after 600s"
    )


def test_fate_2_failure_points_at_the_logs():
    row = toy_result(executed(FATE_2X_FAILED), PAIR)
    assert row["passed"] is False
    assert row["reason"] == f"toy test job {JOB_2X} is failed; logs: flow job download-log -j {JOB_2X} -o <dir>"


@pytest.mark.parametrize(("output", "job"), [(FATE_1X_TIMEOUT, JOB_1X), (FATE_2X_TIMEOUT, JOB_2X)])
def test_a_job_still_running_at_the_timeout_fails(output, job):
    row = toy_result(executed(output), PAIR)
    assert row["passed"] is False and row["job_status"] == "running"
    assert row["reason"] == (
        f"toy test job {job} is still running at the CLI's --timeout; look at it with flow job query -j {job}"
    )


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (
            FATE_1X_CONNECTION_REFUSED,
            "job not submitted: FATE Flow answered 100 Connection refused. "
            "Please check if the fate flow service is started",
        ),
        (
            FATE_2X_REFUSED,
            "job not submitted: FATE Flow answered 1003 Party 10001 is not in the route table of site 9999",
        ),
    ],
)
def test_a_refused_submission_gives_fate_flows_answer(output, reason):
    row = toy_result(executed(output), PAIR)
    assert row["passed"] is False and row["job_id"] == ""
    assert row["reason"] == reason


def test_a_refused_submission_with_a_nested_answer():
    row = toy_result(executed(FATE_1X_HOST_REFUSED), PAIR)
    assert row["reason"].startswith("job not submitted: FATE Flow answered 103 create job failed:")
    assert "Federated schedule error" in row["reason"]


def test_no_flow_cli_in_the_pod():
    row = toy_result(executed("", rc=127, stderr="bash: line 1: flow: command not found\n"), PAIR)
    assert row["passed"] is False
    assert row["reason"] == "exit code 127: bash: line 1: flow: command not found"


# What kubernetes.core.k8s_exec says when the pod does not exist (websocket handshake refused by the API server).
EXEC_404 = (
    "Failed to execute on pod client-0 due to : (0)\nReason: Handshake status 404 Not Found -+-+- "
    "{'content-type': 'application/json', 'content-length': '201', 'cache-control': 'no-cache, private'} -+-+- "
    '{"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", '
    '"message": "pods \\"client-0\\" not found", "reason": "NotFound", "code": 404, '
    '"details": {"kind": "pods", "name": "client-0"}}\n'
)


def test_a_failed_exec_gives_the_api_servers_reason():
    failed = {"changed": False, "failed_when_result": False, "msg": EXEC_404, "item": PAIR}
    row = toy_result(failed)
    assert row["passed"] is False and row["result"] == "fail"
    assert row["reason"] == 'kubectl exec failed: Handshake status 404 Not Found: pods "client-0" not found'
    other = toy_result({"msg": "Failed to execute on pod client-0 due to : Connection refused"}, PAIR)
    assert other["reason"] == "kubectl exec failed: Failed to execute on pod client-0 due to : Connection refused"


def test_output_without_any_result_fails():
    row = toy_result(executed("Usage: flow test toy [OPTIONS]\nTry 'flow test toy --help' for help.\n"), PAIR)
    assert row["passed"] is False
    assert row["reason"] == "no toy test result in the output: Try 'flow test toy --help' for help."


def test_a_job_that_ended_otherwise_fails_with_its_status():
    row = toy_result(executed(f"toy test job {JOB_2X} is waiting\n", rc=1), PAIR)
    assert row["passed"] is False
    assert row["reason"] == f"toy test job {JOB_2X} stopped at status waiting (exit code 1)"


def test_success_followed_by_a_later_failure_line_is_the_last_status_that_counts():
    row = toy_result(executed(FATE_2X_SUCCESS + f"toy test job {JOB_2X} is failed\n"), PAIR)
    assert row["passed"] is False and row["job_status"] == "failed"


def test_check_mode_does_not_run_the_test():
    skipped = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False", "item": PAIR}
    row = toy_result(skipped, check_mode=True)
    assert (row["result"], row["passed"]) == ("not run", False)
    assert row["reason"] == "check mode: would run bash -c 'flow test toy -gid 9999 -hid 10000'"
    assert toy_result(skipped)["reason"] == "skipped"


def test_bad_result_input_is_refused():
    with pytest.raises(VerifyError):
        toy_result("toy test job 1 is success")
    with pytest.raises(VerifyError):
        toy_result(executed(FATE_2X_SUCCESS), pair=["9999", "10000"])


# ------------------------------------------------------------------------------------------------ report


def test_report_table_sorted_with_counts():
    rows = [
        toy_result(executed(FATE_2X_FAILED), dict(PAIR, guest=9999, host=10000)),
        toy_result(executed(FATE_1X_SUCCESS), dict(PAIR, guest=9998, host=10000)),
        toy_result(executed(FATE_2X_SUCCESS), dict(PAIR, guest=9998, host=9999)),
    ]
    out = report(rows)
    assert [(r["guest"], r["host"]) for r in out["rows"]] == [(9998, 9999), (9998, 10000), (9999, 10000)]
    assert (out["passed"], out["failed"], out["not_run"]) == (2, 1, 0)
    header, *body, count = out["lines"]
    assert header.split() == ["federation", "guest", "host", "result", "job", "reason"]
    assert body[0].split()[:5] == ["fed", "9998", "9999", "PASS", JOB_2X]
    assert body[2].split()[:5] == ["fed", "9999", "10000", "FAIL", JOB_2X]
    assert {line.index("result") if line is header else line.index(line.split()[3]) for line in out["lines"][:-1]} == {
        header.index("result")
    }, "the result column is aligned"
    assert count == "3 pairs: 2 passed, 1 failed"
    assert out["failures"] == [
        f"fed 9999 -> 10000: toy test job {JOB_2X} is failed; logs: flow job download-log -j {JOB_2X} -o <dir>"
    ]


def test_report_in_check_mode():
    skipped = {"skipped": True, "item": PAIR}
    out = report([toy_result(skipped, check_mode=True)], check_mode=True)
    assert out["lines"][-1] == "1 pair: 0 passed, 0 failed, 1 not run (check mode)"
    assert report([])["lines"] == ["federation  guest  host  result  job  reason", "0 pairs: 0 passed, 0 failed"]


# ------------------------------------------------------------------------------------------------ filters


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["verify_pairs"] is verify_pairs
    assert filters["verify_toy_command"] is verify_toy_command
    assert filters["verify_toy_result"] is verify_toy_result
    assert filters["verify_report"] is verify_report


def test_filters_turn_errors_into_filter_errors():
    with pytest.raises(AnsibleFilterError, match="verify_pairs: input must be the result"):
        verify_pairs({"federations": {}})
    with pytest.raises(AnsibleFilterError, match="verify_pairs: pairs: '9999' is not guest:host"):
        verify_pairs(star(), "9999")
    with pytest.raises(AnsibleFilterError, match="verify_toy_command"):
        verify_toy_command({"party_id": 1, "deployment": "exchange"}, 9999)
    with pytest.raises(AnsibleFilterError, match="verify_toy_result"):
        verify_toy_result("output")
    with pytest.raises(AnsibleFilterError, match="verify_report"):
        verify_report("rows")


def test_filters_in_a_row_as_the_playbook_uses_them():
    plan = verify_pairs(star(), hosts=["fed-fate-9999"], timeout="120")
    assert plan["pairs"][0]["argv"][-1] == "120"
    registered = [executed(FATE_2X_SUCCESS, pair=pair) for pair in plan["pairs"]]
    rows = [verify_toy_result(r, check_mode=False) for r in registered]
    assert verify_report(rows)["lines"][-1] == "1 pair: 1 passed, 0 failed"
