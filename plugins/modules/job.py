#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: job
short_description: Wait for, stop or delete a KubeFATE job
version_added: 1.0.0
description:
  - With O(state=finished) reads a KubeFATE job and, with O(wait), polls it until it ends; fails when it ends
    C(Failed), C(Rollback) or C(Canceled), or when it has not ended by O(wait_timeout).
  - With O(state=stopped) stops a running install job. KubeFATE then uninstalls the release and the job
    ends C(Canceled). Only install jobs can be stopped; KubeFATE refuses to stop updates and deletes.
  - With O(state=absent) deletes the job record. This does not stop the job.
author:
  - fateops maintainers (@fateops)
options:
  uuid:
    description: UUID of the job.
    type: str
    required: true
  state:
    description: What to do with the job.
    type: str
    choices: [finished, stopped, absent]
    default: finished
extends_documentation_fragment:
  - fateops.kubefate.connection
  - fateops.kubefate.connection.WAIT
  - ansible.builtin.action_common_attributes
  - fateops.kubefate.connection.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details: Reads the job and reports whether it would be stopped or deleted, without doing it.
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Wait for the install job started earlier
  fateops.kubefate.job:
    uuid: "{{ install.job.uuid }}"
    wait: true
    wait_timeout: 3600

- name: Stop an install that pulls images forever (KubeFATE uninstalls what it installed)
  fateops.kubefate.job:
    uuid: "{{ install.job.uuid }}"
    state: stopped
    wait: true
"""

RETURN = r"""
msg:
  description: One line saying what happened.
  returned: always
  type: str
  sample: job 3f2a0c1d (ClusterInstall fate-9999) Success
job:
  description: The job record after the task, without its base64 cluster.yaml.
  returned: success
  type: dict
sub_jobs:
  description: One row per Deployment and StatefulSet of the job.
  returned: success
  type: list
  elements: dict
duration:
  description: Seconds spent waiting.
  returned: when the module waited
  type: float
"""

import time

from ansible_collections.fateops.kubefate.plugins.module_utils.common import (
    JobError,
    KubefateModule,
    argument_spec,
    compact_job,
    job_cluster_name,
    sub_job_table,
    timed_wait,
)
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import (
    ACTIVE_JOB_STATUSES,
    KubefateError,
    is_not_found,
)


def main():
    module = KubefateModule(
        argument_spec=argument_spec(
            dict(
                uuid=dict(type="str", required=True),
                state=dict(type="str", default="finished", choices=["finished", "stopped", "absent"]),
            ),
            wait=True,
        ),
    )
    p, client = module.params, module.client
    result = {"changed": False}

    def done(msg, job=None, failed=False):
        if job:
            result["job"] = compact_job(job)
            result["sub_jobs"] = sub_job_table(job)
        result["msg"] = msg
        (module.fail_json if failed else module.exit_json)(**result)

    def waited(job):
        try:
            job, result["duration"] = timed_wait(client, job, p["wait_timeout"], p["wait_sleep"])
        except JobError as exc:
            result["duration"] = exc.seconds
            done(str(exc), exc.job, failed=True)
        return job

    try:
        try:
            job = client.get_job(p["uuid"])
        except KubefateError as exc:
            if is_not_found(exc) and p["state"] == "absent":
                done(f"job {p['uuid']} is absent")
            raise
        label = f"job {p['uuid'][:8]} ({job.get('method')} {job_cluster_name(job)})"
        if p["state"] == "absent":
            if not module.check_mode:
                client.delete_job(p["uuid"])
            result["changed"] = True
            done(f"{label} record deleted" + (" (check mode)" if module.check_mode else ""), job)
        if p["state"] == "stopped":
            if job.get("status") not in ACTIVE_JOB_STATUSES:
                done(f"{label} already {job.get('status')}; nothing to stop", job)
            if job.get("method") != "ClusterInstall":
                done(f"{label}: KubeFATE can only stop install jobs, this one is {job.get('method')}", job, failed=True)
            result["changed"] = True
            if module.check_mode:
                done(f"{label} would be stopped", job)
            if job.get("status") != "Stopping":
                client.stop_job(p["uuid"])
            if p["wait"]:
                start = time.monotonic()
                deadline = start + p["wait_timeout"]
                while job.get("status") in ACTIVE_JOB_STATUSES and time.monotonic() < deadline:
                    time.sleep(min(p["wait_sleep"], 1))
                    job = client.get_job(p["uuid"])
                result["duration"] = round(time.monotonic() - start, 1)
                if job.get("status") in ACTIVE_JOB_STATUSES:
                    done(f"{label} still {job.get('status')} {p['wait_timeout']}s after the stop request", job, True)
            done(f"{label} stopped: {job.get('status')}", job)
        if p["wait"] and not module.check_mode:
            job = waited(job)
        done(f"{label} {job.get('status')}", job)
    except KubefateError as exc:
        done(str(exc), failed=True)


if __name__ == "__main__":
    main()
