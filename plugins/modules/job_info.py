#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: job_info
short_description: Read KubeFATE jobs
version_added: 1.0.0
description:
  - Returns one job by UUID, or every job KubeFATE knows, optionally filtered by cluster, method and status.
  - The base64 cluster.yaml each job carries in C(meta_data.data) is left out (it can hold passwords).
author:
  - fateops maintainers (@fateops)
options:
  uuid:
    description: UUID of one job.
    type: str
  cluster:
    description: Only jobs of this cluster, given by cluster UUID or by name.
    type: str
  method:
    description: Only jobs of these methods.
    type: list
    elements: str
    choices: [ClusterInstall, ClusterUpdate, ClusterDelete]
  status:
    description: Only jobs in these states.
    type: list
    elements: str
    choices: [Pending, Running, Success, Failed, Rollback, Timeout, Stopping, Canceled]
extends_documentation_fragment:
  - fateops.kubefate.connection
  - fateops.kubefate.connection.INFO_MODULE
"""

EXAMPLES = r"""
- name: Jobs still running on this KubeFATE server
  fateops.kubefate.job_info:
    status: [Pending, Running]
  register: running

- name: The install history of one cluster
  fateops.kubefate.job_info:
    cluster: fate-9999
    method: [ClusterInstall]
"""

RETURN = r"""
jobs:
  description: The jobs, oldest first, with their sub-jobs as a table in C(sub_job_table).
  returned: success
  type: list
  elements: dict
msg:
  description: One line summary.
  returned: always
  type: str
"""

from ansible_collections.fateops.kubefate.plugins.module_utils.common import (
    KubefateModule,
    argument_spec,
    compact_job,
    sub_job_table,
)
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import KubefateError

STATUSES = ["Pending", "Running", "Success", "Failed", "Rollback", "Timeout", "Stopping", "Canceled"]


def matches(job, p):
    meta = job.get("meta_data") or {}
    if p["cluster"] and p["cluster"] not in (job.get("cluster_id"), meta.get("name")):
        return False
    if p["method"] and job.get("method") not in p["method"]:
        return False
    return not (p["status"] and job.get("status") not in p["status"])


def main():
    module = KubefateModule(
        argument_spec=argument_spec(
            dict(
                uuid=dict(type="str"),
                cluster=dict(type="str"),
                method=dict(type="list", elements="str", choices=["ClusterInstall", "ClusterUpdate", "ClusterDelete"]),
                status=dict(type="list", elements="str", choices=STATUSES),
            )
        ),
    )
    p, client = module.params, module.client
    try:
        jobs = [client.get_job(p["uuid"])] if p["uuid"] else client.list_jobs()
    except KubefateError as exc:
        module.fail_json(msg=str(exc))
    selected = []
    for job in sorted(jobs, key=lambda j: j.get("start_time") or ""):
        if matches(job, p):
            row = compact_job(job)
            row["sub_job_table"] = sub_job_table(job)
            selected.append(row)
    module.exit_json(changed=False, jobs=selected, msg=f"{len(selected)} of {len(jobs)} jobs")


if __name__ == "__main__":
    main()
