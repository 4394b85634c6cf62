#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: cluster_info
short_description: Read KubeFATE clusters, with their live status and dashboards
version_added: 1.0.0
description:
  - Returns one cluster, by UUID or by name and namespace, described live by KubeFATE (C(Info) holds the
    node address, the status of every Deployment, StatefulSet and container, and the dashboard hosts).
  - Without O(uuid) or O(name), returns every cluster (add O(all) for the deleted ones too).
  - Passwords and other secrets in the stored cluster.yaml (C(Spec)) are masked; the raw C(values) text is left out.
author:
  - fateops maintainers (@fateops)
options:
  uuid:
    description: UUID of one cluster.
    type: str
  name:
    description: Name of one cluster (with O(namespace)).
    type: str
  namespace:
    description: Namespace of the cluster named O(name); without it, every cluster of that name.
    type: str
  all:
    description: Include deleted clusters when listing.
    type: bool
    default: false
  describe:
    description: Describe every listed cluster too (one API call each) to include C(Info).
    type: bool
    default: false
extends_documentation_fragment:
  - fateops.kubefate.connection
  - fateops.kubefate.connection.INFO_MODULE
"""

EXAMPLES = r"""
- name: Live status of the FATE cluster of party 9999
  fateops.kubefate.cluster_info:
    name: fate-9999
    namespace: fate-9999
  register: party

- name: Show the dashboards
  ansible.builtin.debug:
    msg: "{{ party.clusters[0].Info.dashboard }}"
"""

RETURN = r"""
clusters:
  description: The clusters found (empty when none matches).
  returned: success
  type: list
  elements: dict
  sample: [{"uuid": "24bb75ff-f636-4c64-8c04-1b9073f89a2f", "name": "fate-9999", "namespaces": "fate-9999",
            "status": "Running", "Info": {"dashboard": ["9999.fateboard.example.com"]}}]
msg:
  description: One line summary.
  returned: always
  type: str
"""

from ansible_collections.fateops.kubefate.plugins.module_utils.common import KubefateModule, argument_spec
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import KubefateError, is_not_found
from ansible_collections.fateops.kubefate.plugins.module_utils.spec import mask_secrets


def public(cluster):
    out = {k: v for k, v in cluster.items() if k != "values"}
    if out.get("Spec") is not None:
        out["Spec"] = mask_secrets(out["Spec"])
    return out


def main():
    module = KubefateModule(
        argument_spec=argument_spec(
            dict(
                uuid=dict(type="str"),
                name=dict(type="str"),
                namespace=dict(type="str"),
                all=dict(type="bool", default=False),
                describe=dict(type="bool", default=False),
            )
        ),
        mutually_exclusive=[("uuid", "name")],
    )
    p, client = module.params, module.client
    try:
        if p["uuid"]:
            try:
                clusters = [client.get_cluster(p["uuid"])]
            except KubefateError as exc:
                if not is_not_found(exc):
                    raise
                clusters = []
        else:
            clusters = [
                c
                for c in client.list_clusters(all_rows=p["all"])
                if (not p["name"] or c.get("name") == p["name"])
                and (not p["namespace"] or c.get("namespaces") == p["namespace"])
            ]
            if p["describe"] or p["name"]:
                clusters = [client.get_cluster(c["uuid"]) if c.get("status") != "Deleted" else c for c in clusters]
    except KubefateError as exc:
        module.fail_json(msg=str(exc))
    summary = ", ".join(f"{c.get('name')} {c.get('status')}" for c in clusters[:5])
    module.exit_json(
        changed=False,
        clusters=[public(c) for c in clusters],
        msg=f"{len(clusters)} clusters" + (f": {summary}" if summary else ""),
    )


if __name__ == "__main__":
    main()
