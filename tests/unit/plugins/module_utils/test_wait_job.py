"""wait_job on a fake clock: success, failure texts, the deadline, and a job KubeFATE abandoned."""

import pytest
from ansible_collections.fateops.kubefate.plugins.module_utils.common import (
    AbandonedJob,
    JobError,
    stale_after,
    wait_job,
)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(seconds, 0.5)


class Client:
    """Serves a scripted sequence of job records (the last one repeats)."""

    def __init__(self, records):
        self.records = list(records)
        self.calls = 0

    def get_job(self, uuid):
        self.calls += 1
        return self.records.pop(0) if len(self.records) > 1 else self.records[0]

    def get_cluster(self, uuid):
        return {}


def job(status, updated="t0", states=("a",)):
    return {
        "uuid": "j1",
        "method": "ClusterInstall",
        "status": status,
        "UpdatedAt": updated,
        "states": list(states),
        "meta_data": {"name": "fate-9999", "namespace": "fate-9999"},
        "sub_jobs": {},
    }


def test_success_after_running():
    clock = Clock()
    client = Client([job("Running", "t1"), job("Running", "t2"), job("Success", "t3")])
    assert wait_job(client, "j1", 60, 5, clock=clock, pause=clock.sleep)["status"] == "Success"


def test_rollback_says_so():
    clock = Clock()
    with pytest.raises(JobError, match="failed and KubeFATE rolled the cluster back"):
        wait_job(Client([job("Rollback")]), "j1", 60, 5, clock=clock, pause=clock.sleep)


def test_unchanged_job_runs_to_the_deadline_and_says_it_will_never_finish():
    clock = Clock()
    with pytest.raises(JobError, match="will never finish; re-run: the cluster module then takes the cluster over"):
        wait_job(Client([job("Running")]), "j1", 20, 5, clock=clock, pause=clock.sleep)
    assert clock.now >= 20


def test_abandoned_job_is_given_up_once_stale_not_at_the_deadline():
    clock = Clock()
    with pytest.raises(AbandonedJob, match="has not changed for 60s: KubeFATE abandoned it"):
        wait_job(Client([job("Running")]), "j1", 4200, 5, clock=clock, pause=clock.sleep, abandon=True)
    assert stale_after(4200) == 60 and 60 <= clock.now < 70


def test_a_job_that_keeps_changing_is_not_abandoned():
    clock = Clock()
    records = [job("Running", f"t{i}") for i in range(30)] + [job("Success", "end")]
    done = wait_job(Client(records), "j1", 4200, 5, clock=clock, pause=clock.sleep, abandon=True)
    assert done["status"] == "Success" and clock.now > 60
