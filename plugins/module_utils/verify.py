# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""FATE's toy test between the parties of a federation: which pairs, what to run where, and what the output says.

``flow test toy -gid <guest> -hid <host>`` submits a two-party job (secure addition) from the guest's FATE Flow
and polls it, printing ``toy test job <id> is <status>`` until the job ends. The command exits 0 whether the job
succeeded or not, so the verdict comes from the text:

* FATE 1.x (``flow_client``) ends with ``toy test job <id> is success`` followed by the guest's ``secure_add_guest``
  log lines (the last one ``success to calculate secure_sum, it is 2000.0000000000002``); a failed job is followed
  by the guest's ERROR.log, a job still running at the ``--timeout`` by ``check job status timeout``. The command
  also takes ``--task-cores``.
* FATE 2.x (``fate_client``) prints only the status lines; a failed job is followed by a hint to
  ``flow job download-log -j <id>``, a timeout by ``timeout...``. It has no ``--task-cores``.
* Either prints the server's answer as JSON (``retcode``/``retmsg`` in 1.x, ``code``/``message`` in 2.x) when
  the job cannot be submitted, for example when FATE Flow is not reachable.

Charts ``fate`` v1.9 to v2.0 run the CLI in the ``client`` StatefulSet (pod ``client-0``, container ``client``,
with FATE Flow at ``$FATE_FLOW_IP:$FATE_FLOW_PORT``) and FATE Flow itself in the ``python`` StatefulSet (pod
``python-0``, container ``fateflow``, port 9380).
"""

import json
import re
import shlex

#: Where the ``flow`` CLI runs, per choice of pod: (pod, container, FATE Flow address for ``flow init``).
PODS = {
    "client": ("client-0", "client", '"${FATE_FLOW_IP:-fateflow}" --port "${FATE_FLOW_PORT:-9380}"'),
    "python": ("python-0", "fateflow", "127.0.0.1 --port 9380"),
}
DEFAULT_TIMEOUT = 300
MAX_REASON = 240

_STATUS_RE = re.compile(r"toy test job (\S+) is (\w+)")
_SECURE_SUM_RE = re.compile(r"success to calculate secure_sum, it is (\S+)")
_LOG_PREFIX_RE = re.compile(r"^\s*\[(?:ERROR|WARNING|INFO|DEBUG)\]\s*(?:\[[^\]]*\]\s*)*-?\s*(?:\[[^\]]*\]\s*)*:?\s*")
_ERROR_WORDS = re.compile(r"error|exception|unavailable|refused|timed? ?out|failed", re.I)
ENDED_BADLY = ("failed", "canceled", "cancelled", "timeout")


class VerifyError(Exception):
    """A bad argument to one of the helpers (the filters turn it into an AnsibleFilterError)."""


def fate_major(version):
    """``"1.11.2"`` -> 1, ``"2.0.0"`` -> 2 (0 when unknown)."""
    match = re.match(r"\s*v?(\d+)", str(version or ""))
    return int(match.group(1)) if match else 0


def _int(value, what):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise VerifyError("%s: '%s' is not a party id" % (what, value)) from None


def parse_pairs(pairs):
    """Pairs as the operator writes them -> ``[(guest, host), ...]``.

    Accepts ``"9999:10000,9999:9998"``, a list of ``"9999:10000"`` strings, of ``[guest, host]`` lists or of
    ``{guest: ..., host: ...}`` dicts. ``None`` or empty means "every pair".
    """
    if pairs in (None, "", [], ()):
        return []
    if isinstance(pairs, str):
        pairs = [p for p in re.split(r"[,\s]+", pairs) if p]
    if not isinstance(pairs, (list, tuple)):
        raise VerifyError("pairs: expected a list or 'guest:host,...', got %s" % type(pairs).__name__)
    out = []
    for pair in pairs:
        if isinstance(pair, str):
            parts = re.split(r"[:\-/]", pair.strip())
        elif isinstance(pair, dict):
            if "guest" not in pair or "host" not in pair:
                raise VerifyError("pairs: %s needs guest and host" % json.dumps(pair, default=str))
            parts = [pair["guest"], pair["host"]]
        elif isinstance(pair, (list, tuple)):
            parts = list(pair)
        else:
            parts = [pair]
        if len(parts) != 2:
            raise VerifyError("pairs: '%s' is not guest:host" % (pair,))
        out.append((_int(parts[0], "pairs"), _int(parts[1], "pairs")))
    return out


def toy_command(cluster, host_party_id, pod="auto", timeout=DEFAULT_TIMEOUT, task_cores=None):
    """Where and how to run the toy test from one FATE training cluster (an entry of the plan's ``clusters``).

    Returns ``{"pod", "container", "namespace", "command", "argv", "fate_major"}``; ``command`` is the string
    ``kubernetes.core.k8s_exec`` takes (``bash -c '...'``: ``flow init`` at the cluster's FATE Flow, then the test).
    ``pod`` is ``client`` (the notebook pod of the chart's ``client`` module), ``python`` (the FATE Flow pod) or
    ``auto`` (``client`` when the cluster has that module). ``task_cores`` is passed to FATE 1.x only.
    """
    if not isinstance(cluster, dict) or "party_id" not in cluster:
        raise VerifyError("toy_command: input must be one entry of the federation plan's clusters")
    if cluster.get("deployment") not in (None, "fate"):
        raise VerifyError(
            "toy_command: %s is a %s deployment, not a FATE training cluster"
            % (cluster.get("host"), cluster.get("deployment"))
        )
    if pod not in ("auto", "client", "python"):
        raise VerifyError("toy_command: pod must be auto, client or python, not '%s'" % pod)
    modules = (cluster.get("cluster_yaml") or {}).get("modules") or []
    if pod == "auto":
        pod = "client" if "client" in modules else "python"
    pod_name, container, flow_address = PODS[pod]
    try:
        timeout = int(timeout)
    except (TypeError, ValueError):
        raise VerifyError("toy_command: timeout must be a number of seconds, not '%s'" % timeout) from None
    major = fate_major(cluster.get("fate_version"))
    argv = [
        "flow",
        "test",
        "toy",
        "-gid",
        str(cluster["party_id"]),
        "-hid",
        str(int(host_party_id)),
        "--timeout",
        str(timeout),
    ]
    if major == 1 and task_cores not in (None, ""):
        argv += ["--task-cores", str(int(task_cores))]
    script = "flow init --ip %s > /dev/null && %s" % (flow_address, shlex.join(argv))
    return {
        "pod": pod_name,
        "container": container,
        "namespace": cluster.get("namespace"),
        "command": shlex.join(["bash", "-c", script]),
        "argv": argv,
        "fate_major": major,
    }


def toy_pairs(plan, pairs=None, hosts=None, pod="auto", timeout=DEFAULT_TIMEOUT, task_cores=None):
    """The toy tests to run for a federation plan.

    By default every pair of training parties of every federation (mesh or star), each once, the smaller party id
    as guest; a federation with a single party tests itself (``-gid 9999 -hid 9999``). ``pairs`` picks pairs
    instead (see :func:`parse_pairs`), in every federation that has both parties. ``hosts`` keeps the pairs whose
    guest's inventory host is in it (the play's hosts). Returns ``{"pairs": [...], "errors": [...]}``; each pair has
    ``federation``, ``guest``, ``host``, ``guest_host`` (the inventory host to run from), ``kube_cluster`` and what
    :func:`toy_command` returns.
    """
    if not isinstance(plan, dict) or "clusters" not in plan:
        raise VerifyError("toy_pairs: input must be the result of fateops.kubefate.federation_plan")
    wanted = parse_pairs(pairs)
    keep = None if hosts is None else {str(h) for h in ([hosts] if isinstance(hosts, str) else hosts)}
    by_federation = {}
    for entry in plan["clusters"].values():
        if entry.get("deployment") == "fate" and entry.get("party_id") is not None:
            by_federation.setdefault(entry.get("federation"), {})[int(entry["party_id"])] = entry
    out = []
    errors = []
    for federation in sorted(by_federation, key=str):
        parties = by_federation[federation]
        ids = sorted(parties)
        if wanted:
            chosen = [(g, h) for g, h in wanted if g in parties and h in parties]
        elif len(ids) == 1:
            chosen = [(ids[0], ids[0])]
        else:
            chosen = [(g, h) for i, g in enumerate(ids) for h in ids[i + 1 :]]
        for guest, host in chosen:
            entry = parties[guest]
            if keep is not None and entry.get("host") not in keep:
                continue
            pair = {
                "federation": federation,
                "guest": guest,
                "host": host,
                "guest_host": entry.get("host"),
                "kube_cluster": entry.get("kube_cluster"),
                "fate_version": entry.get("fate_version"),
            }
            pair.update(toy_command(entry, host, pod=pod, timeout=timeout, task_cores=task_cores))
            out.append(pair)
    for guest, host in wanted:
        if not any(guest in parties and host in parties for parties in by_federation.values()):
            known = ", ".join(
                "%s: %s" % (name, " ".join(str(p) for p in sorted(by_federation[name])))
                for name in sorted(by_federation, key=str)
            )
            errors.append("pair %s:%s: no federation has both parties (%s)" % (guest, host, known or "no FATE party"))
    return {"pairs": out, "errors": errors}


# ------------------------------------------------------------------------------------------------ results


def _short(text):
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _json_answer(text):
    """The first JSON object printed (the CLI's ``prettify`` of a refused submission), or None."""
    start = text.find("{")
    while start != -1:
        try:
            value, _end = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _error_line(lines):
    """The line that best says why a job failed, from the guest's ERROR.log lines the 1.x CLI prints."""
    for line in lines:
        match = re.search(r'details\s*=\s*"(.+?)"?\s*$', line)
        if match:
            return match.group(1)
    for line in lines:
        if _ERROR_WORDS.search(line):
            return _LOG_PREFIX_RE.sub("", line).strip()
    for line in lines:
        if line.strip():
            return _LOG_PREFIX_RE.sub("", line).strip()
    return ""


def _exec_error(message):
    """``k8s_exec``'s message, ``Failed to execute on pod P due to : (0)\\nReason: Handshake status 404 Not Found
    -+-+- {headers} -+-+- {Status}``, as ``Handshake status 404 Not Found: pods "P" not found``."""
    parts = str(message or "no result").split(" -+-+- ")
    head = " ".join(parts[0].split())
    head = re.sub(r"^Failed to execute on pod \S+ due to : \(\d+\)\s*(Reason:\s*)?", "", head) or head
    status = _json_answer(parts[-1]) if len(parts) > 1 else None
    detail = status.get("message") if isinstance(status, dict) else None
    return head + (": %s" % detail if detail else "")


def toy_result(result, pair=None, check_mode=False):
    """Pass or fail, with a one-line reason, from a ``kubernetes.core.k8s_exec`` result of :func:`toy_command`.

    ``result`` is the registered result (``rc``, ``stdout``, ``stderr``; ``msg`` when the exec itself failed),
    or one item of a registered loop, whose ``item`` is the pair when ``pair`` is not given. Returns the pair's
    ``federation``, ``guest``, ``host``, ``guest_host``, ``namespace`` and ``pod`` with ``passed`` (bool),
    ``result`` (``pass``, ``fail`` or ``not run``: a skipped task, with ``check_mode`` the playbook's check mode),
    ``job_id``, ``job_status`` and ``reason``.
    """
    if not isinstance(result, dict):
        raise VerifyError("toy_result: input must be a registered kubernetes.core.k8s_exec result")
    pair = pair if pair is not None else result.get("item") or {}
    if not isinstance(pair, dict):
        raise VerifyError("toy_result: pair must be one of the pairs of toy_pairs")
    row = {key: pair.get(key) for key in ("federation", "guest", "host", "guest_host", "namespace", "pod")}
    row.update(passed=False, result="fail", job_id="", job_status="", reason="")

    if result.get("skipped"):
        row["result"] = "not run"
        row["reason"] = "check mode: would run %s" % pair.get("command") if check_mode else "skipped"
        return row
    stdout = str(result.get("stdout") or "")
    stderr = str(result.get("stderr") or "")
    rc = result.get("rc", result.get("return_code"))
    if rc is None:
        # The exec itself failed: no pod, no container, no permission, API unreachable.
        row["reason"] = _short("kubectl exec failed: %s" % _exec_error(result.get("msg")))
        return row

    statuses = _STATUS_RE.findall(stdout)
    lines = stdout.splitlines()
    if statuses:
        job_id, status = statuses[-1]
        row.update(job_id=job_id, job_status=status)
        last = max(i for i, line in enumerate(lines) if _STATUS_RE.search(line))
        after = lines[last + 1 :]
        timed_out = any(line.strip() in ("check job status timeout", "timeout...") for line in after)
        if status == "success" and not timed_out:
            row.update(passed=True, result="pass")
            secure_sum = _SECURE_SUM_RE.findall(stdout)
            row["reason"] = "toy test job %s is success" % job_id + (
                ", secure_sum %s" % secure_sum[-1] if secure_sum else ""
            )
            return row
        if timed_out:
            row["reason"] = _short(
                "toy test job %s is still %s at the CLI's --timeout; look at it with flow job query -j %s"
                % (job_id, status, job_id)
            )
            return row
        if status in ENDED_BADLY:
            hint = [line for line in after if "download-log" not in line and not line.startswith("get log failed")]
            detail = _error_line(hint)
            row["reason"] = _short(
                "toy test job %s is %s" % (job_id, status)
                + (": %s" % detail if detail else "; logs: flow job download-log -j %s -o <dir>" % job_id)
            )
            return row
        row["reason"] = _short("toy test job %s stopped at status %s (exit code %s)" % (job_id, status, rc))
        return row

    answer = _json_answer(stdout)
    if answer is not None:
        code = answer.get("retcode", answer.get("code"))
        message = answer.get("retmsg", answer.get("message", ""))
        row["reason"] = _short("job not submitted: FATE Flow answered %s %s" % (code, message))
        return row
    tail = [line for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    if rc != 0:
        row["reason"] = _short("exit code %s: %s" % (rc, tail[-1] if tail else "no output"))
    else:
        row["reason"] = _short("no toy test result in the output" + (": %s" % tail[-1] if tail else ""))
    return row


def report(results, check_mode=False):
    """Rows and an aligned pass/fail table from the :func:`toy_result` rows of every guest.

    Returns ``rows`` (sorted by federation, guest, host), ``lines`` (the table, then a count line), the counts
    ``passed``, ``failed`` and ``not_run``, and ``failures`` (one ``<federation> <guest> -> <host>: <reason>`` each).
    """
    rows = sorted(
        (dict(r) for r in results or []),
        key=lambda r: (str(r.get("federation")), int(r.get("guest") or 0), int(r.get("host") or 0)),
    )
    columns = (
        ("federation", "federation"),
        ("guest", "guest"),
        ("host", "host"),
        ("result", "result"),
        ("job_id", "job"),
        ("reason", "reason"),
    )
    table = [[label for _key, label in columns]]
    for row in rows:
        cells = [str(row.get(key)) if row.get(key) not in (None, "") else "" for key, _label in columns]
        cells[3] = cells[3].upper()
        table.append(cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    passed = sum(1 for row in rows if row.get("result") == "pass")
    failed = sum(1 for row in rows if row.get("result") == "fail")
    not_run = len(rows) - passed - failed
    summary = "%d pair%s: %d passed, %d failed" % (len(rows), "" if len(rows) == 1 else "s", passed, failed)
    if not_run:
        summary += ", %d not run%s" % (not_run, " (check mode)" if check_mode else "")
    lines.append(summary)
    failures = [
        "%s %s -> %s: %s" % (row.get("federation"), row.get("guest"), row.get("host"), row.get("reason"))
        for row in rows
        if row.get("result") == "fail"
    ]
    return {"rows": rows, "lines": lines, "passed": passed, "failed": failed, "not_run": not_run, "failures": failures}
