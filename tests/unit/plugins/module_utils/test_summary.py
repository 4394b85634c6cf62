"""The end-of-run table."""

from ansible_collections.fateops.kubefate.plugins.module_utils.summary import dashboards, summarize

PLAN = {
    "clusters": {
        "fate-9999": {
            "cluster_yaml": {
                "ingress": {
                    "fateboard": {"hosts": [{"name": "9999.fateboard.x"}]},
                    "client": {"hosts": [{"name": "9999.notebook.x"}]},
                }
            }
        },
        "exchange": {"cluster_yaml": {}},
    }
}


def result(host, deployment, party_id, changed, seconds):
    return {
        "host": host,
        "deployment": deployment,
        "party_id": party_id,
        "cluster": host,
        "chart": "fate v2.0.0",
        "kube_cluster": "dc1",
        "status": "Running",
        "operation": "install",
        "changed": changed,
        "job_seconds": seconds,
    }


def test_rows_sorted_exchange_first_with_dashboards_and_times():
    out = summarize(
        [result("fate-9999", "fate", 9999, True, "41.6"), result("exchange", "exchange", 1, "False", "")], PLAN
    )
    assert [row["cluster"] for row in out["rows"]] == ["exchange", "fate-9999"]
    assert out["rows"][0]["party"] == "exchange"
    assert out["rows"][1]["job_seconds"] == 42
    assert out["rows"][1]["dashboards"] == "9999.fateboard.x, 9999.notebook.x"
    header, first, second, count, touched = out["lines"]
    assert header.split() == ["party", "kind", "cluster", "chart", "kube", "status", "done", "job", "s", "dashboards"]
    assert header.index("status") == first.index("Running") == second.index("Running")
    assert count == "2 clusters, 1 changed by this run"
    assert touched == "touched: fate-9999 (install)"


def test_touched_updates_name_their_paths_and_failures_their_message():
    update = result("exchange", "exchange", 1, True, "3") | {
        "operation": "update",
        "changed_paths": ["rollsite.partyList", "a", "b", "c"],
    }
    failed = result("fate-9999", "fate", 9999, False, "") | {"failed": True, "msg": "job x ended Failed"}
    lines = summarize([update, failed], PLAN, check_mode=True)["lines"]
    assert lines[-3:] == [
        "2 clusters, 1 would change (check mode), 1 failed",
        "would touch: exchange (update: rollsite.partyList, a, b and 1 more)",
        "fate-9999 failed: job x ended Failed",
    ]


def test_dashboards_of_a_cluster_yaml_without_ingress():
    assert dashboards({}) == [] and dashboards(None) == []
