# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""The table an operator reads at the end of a deployment: one row per cluster."""

COLUMNS = (
    ("party", "party"),
    ("deployment", "kind"),
    ("cluster", "cluster"),
    ("chart", "chart"),
    ("kube_cluster", "kube"),
    ("status", "status"),
    ("operation", "done"),
    ("job_seconds", "job s"),
    ("dashboards", "dashboards"),
)
ORDER = {"exchange": 0, "serving_exchange": 1, "fate": 2, "serving": 3}


def dashboards(cluster_yaml):
    """Every ingress host a cluster.yaml asks for (FATE-Board, notebook, Spark, serving admin...)."""
    hosts = []
    for section in ((cluster_yaml or {}).get("ingress") or {}).values():
        for entry in (section or {}).get("hosts") or []:
            if isinstance(entry, dict) and entry.get("name"):
                hosts.append(entry["name"])
    return sorted(hosts)


def touched_text(row):
    """``fate-exchange (update: rollsite.partyList)``: a changed cluster, what was done and the first paths."""
    paths = [str(p) for p in row.get("changed_paths") or []]
    what = str(row.get("operation") or "")
    if paths and what in ("update", "upgrade"):
        what += ": " + ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return f"{row.get('cluster')} ({what})"


def summarize(results, plan=None, check_mode=False):
    """Rows (dicts) and aligned text lines from the ``deployment_result`` facts of the deployed hosts."""
    clusters = (plan or {}).get("clusters") or {}
    rows = []
    for result in results or []:
        row = dict(result)
        row["party"] = "exchange" if row.get("deployment") in ("exchange", "serving_exchange") else row.get("party_id")
        row["kind"] = row.get("deployment")
        seconds = row.get("job_seconds")
        row["job_seconds"] = round(float(seconds)) if seconds not in (None, "") else ""
        row["dashboards"] = ", ".join(dashboards(clusters.get(row.get("host"), {}).get("cluster_yaml")))
        rows.append(row)
    rows.sort(key=lambda r: (ORDER.get(r.get("deployment"), 9), str(r.get("party_id")), str(r.get("cluster"))))
    keys = [key for key, label in COLUMNS]
    table = [[label for key, label in COLUMNS]]
    for row in rows:
        table.append([str(row.get(key)) if row.get(key) is not None else "" for key in keys])
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    changed = sum(1 for row in rows if str(row.get("changed")).lower() == "true")
    verdict = "would change (check mode)" if check_mode else "changed by this run"
    failed = [row for row in rows if str(row.get("failed")).lower() == "true"]
    lines.append(f"{len(rows)} clusters, {changed} {verdict}" + (f", {len(failed)} failed" if failed else ""))
    touched = [touched_text(row) for row in rows if str(row.get("changed")).lower() == "true"]
    if touched:
        lines.append(("would touch: " if check_mode else "touched: ") + "; ".join(touched))
    lines.extend(f"{row.get('cluster')} failed: {row.get('msg')}" for row in failed)
    return {"rows": rows, "lines": lines}
