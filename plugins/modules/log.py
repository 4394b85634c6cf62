#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: log
short_description: Fetch the logs of a KubeFATE cluster's containers
version_added: 1.0.0
description:
  - Reads the logs of every container of a cluster, or of one container, through KubeFATE (C(GET /v1/log/)),
    into the result or into a file.
  - KubeFATE keys containers by name, so with several pods sharing a container name only one pod's log comes back.
author:
  - fateops maintainers (@fateops)
options:
  uuid:
    description: UUID of the cluster.
    type: str
  name:
    description: Name of the cluster (with O(namespace)), as an alternative to O(uuid).
    type: str
  namespace:
    description: Namespace of the cluster named O(name).
    type: str
  container:
    description: Only this container (for example C(fateflow), C(osx), C(mysql)); all containers when omitted.
    type: str
  tail:
    description: Only the last this many lines per container.
    type: int
  since:
    description: Only lines newer than this many seconds.
    type: int
  since_time:
    description: Only lines after this RFC 3339 time.
    type: str
  previous:
    description: The log of the previous (crashed) instance of the container.
    type: bool
    default: false
  timestamps:
    description: Prefix every line with its time.
    type: bool
    default: false
  limit_bytes:
    description: At most this many bytes per container.
    type: int
  dest:
    description:
      - Write the log to this file (on the host the module runs on) instead of returning it.
      - The task reports a change when the file's content changes.
    type: path
extends_documentation_fragment:
  - fateops.kubefate.connection
  - ansible.builtin.action_common_attributes
  - fateops.kubefate.connection.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details: Reads the log; does not write O(dest).
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Last 200 lines of fateflow
  fateops.kubefate.log:
    name: fate-9999
    namespace: fate-9999
    container: python
    tail: 200
  register: fateflow_log

- name: Every container's log of the last hour into a file
  fateops.kubefate.log:
    uuid: "{{ cluster_uuid }}"
    since: 3600
    dest: logs/fate-9999.log
"""

RETURN = r"""
log:
  description: The log text (without O(dest)).
  returned: success and O(dest) not given
  type: str
lines:
  description: Number of lines fetched.
  returned: success
  type: int
dest:
  description: The file written.
  returned: when O(dest) is given
  type: str
msg:
  description: One line summary.
  returned: always
  type: str
"""

import os

from ansible_collections.fateops.kubefate.plugins.module_utils.common import KubefateModule, argument_spec
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import KubefateError


def main():
    module = KubefateModule(
        argument_spec=argument_spec(
            dict(
                uuid=dict(type="str"),
                name=dict(type="str"),
                namespace=dict(type="str"),
                container=dict(type="str"),
                tail=dict(type="int"),
                since=dict(type="int"),
                since_time=dict(type="str"),
                previous=dict(type="bool", default=False),
                timestamps=dict(type="bool", default=False),
                limit_bytes=dict(type="int"),
                dest=dict(type="path"),
            )
        ),
        required_one_of=[("uuid", "name")],
        mutually_exclusive=[("uuid", "name")],
        required_together=[("name", "namespace")],
    )
    p, client = module.params, module.client
    query = {
        "container": p["container"],
        "tail": p["tail"],
        "since": p["since"],
        "since-time": p["since_time"],
        "limit-bytes": p["limit_bytes"],
    }
    query = {k: v for k, v in query.items() if v is not None}
    for flag in ("previous", "timestamps"):
        if p[flag]:
            query[flag] = "true"
    try:
        uuid, label = p["uuid"], p["uuid"]
        if not uuid:
            cluster = client.find_cluster(p["name"], p["namespace"])
            if cluster is None:
                module.fail_json(msg=f"cluster {p['name']} not found in namespace {p['namespace']}")
            uuid, label = cluster["uuid"], p["name"]
        text = client.cluster_logs(uuid, query)
    except KubefateError as exc:
        module.fail_json(msg=str(exc))
    lines = len(text.splitlines())
    result = {"changed": False, "lines": lines}
    what = f"{lines} log lines of cluster {label}" + (f" container {p['container']}" if p["container"] else "")
    if p["dest"]:
        current = None
        if os.path.exists(p["dest"]):
            with open(p["dest"], encoding="utf-8", errors="replace") as handle:
                current = handle.read()
        result["dest"] = p["dest"]
        result["changed"] = current != text
        if result["changed"] and not module.check_mode:
            directory = os.path.dirname(p["dest"])
            if directory:
                os.makedirs(directory, exist_ok=True)
            with open(p["dest"], "w", encoding="utf-8") as handle:
                handle.write(text)
        module.exit_json(msg=f"{what} written to {p['dest']}", **result)
    module.exit_json(log=text, msg=what, **result)


if __name__ == "__main__":
    main()
