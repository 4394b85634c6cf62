#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: chart
short_description: Upload a KubeFATE chart package, or delete one
version_added: 1.0.0
description:
  - Uploads a C(helm package) archive of a KubeFATE chart (C(fate), C(fate-exchange), C(fate-serving)) to
    KubeFATE, which then installs clusters from it instead of downloading the chart from its chart
    repository. FATE 2.0.0 is not in KubeFATE's default repository, and offline clusters reach none.
  - Idempotent by chart name and version. Nothing is uploaded when KubeFATE already holds the same
    name and version with the same content, unless O(force) is set.
  - KubeFATE charts need a C(values-template.yaml); an archive without one is refused before upload,
    because every install from it would fail.
author:
  - fateops maintainers (@fateops)
options:
  state:
    description: V(present) uploads, V(absent) deletes every copy of that name and version.
    type: str
    choices: [present, absent]
    default: present
  src:
    description:
      - Path of the chart archive (C(.tgz)) on the host the module runs on. Required with O(state=present).
      - With O(state=absent), the chart name and version are read from it when O(name) and O(version) are not given.
    type: path
  name:
    description: Chart name, for O(state=absent) without O(src).
    type: str
  version:
    description: Chart version with its leading C(v), for O(state=absent) without O(src).
    type: str
  force:
    description: Upload even when KubeFATE already has this name and version with the same content.
    type: bool
    default: false
extends_documentation_fragment:
  - fateops.kubefate.connection
  - ansible.builtin.action_common_attributes
  - fateops.kubefate.connection.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details: Reports whether the chart would be uploaded or deleted.
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Make the FATE 2.0.0 chart available to KubeFATE
  fateops.kubefate.chart:
    src: charts/fate-v2.0.0.tgz

- name: Remove it
  fateops.kubefate.chart:
    name: fate
    version: v2.0.0
    state: absent
"""

RETURN = r"""
chart:
  description: Name, version and UUID of the chart in KubeFATE.
  returned: success
  type: dict
  sample: {"name": "fate", "version": "v2.0.0", "uuid": "0f1e3c4a-6b2d-4d8e-9a51-2c7d5e8f9b10"}
msg:
  description: One line summary.
  returned: always
  type: str
  sample: chart fate v2.0.0 uploaded
"""

import tarfile

from ansible.module_utils.common.yaml import HAS_YAML, yaml_load
from ansible_collections.fateops.kubefate.plugins.module_utils.common import KubefateModule, argument_spec
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import KubefateError

COMPARED = (("Chart.yaml", "chart"), ("values.yaml", "values"), ("values-template.yaml", "values_template"))


def read_package(module, path):
    """Top-level files of the chart archive that KubeFATE reads, keyed by file name."""
    files = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 2:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        files[parts[1]] = handle.read().decode("utf-8", "replace")
    except (OSError, tarfile.TarError) as exc:
        module.fail_json(msg=f"{path} is not a chart archive: {exc}")
    if "Chart.yaml" not in files or not HAS_YAML:
        module.fail_json(msg=f"{path} is not a chart archive: no Chart.yaml")
    meta = yaml_load(files["Chart.yaml"]) or {}
    if not meta.get("name") or not meta.get("version"):
        module.fail_json(msg=f"{path}: Chart.yaml has no name or version")
    if "values-template.yaml" not in files:
        module.fail_json(msg=f"{path} has no values-template.yaml; KubeFATE cannot install clusters from it")
    return str(meta["name"]), str(meta["version"]), files


def same_content(stored, files):
    return all((stored.get(key) or "").strip() == (files.get(name) or "").strip() for name, key in COMPARED)


def main():
    module = KubefateModule(
        argument_spec=argument_spec(
            dict(
                state=dict(type="str", default="present", choices=["present", "absent"]),
                src=dict(type="path"),
                name=dict(type="str"),
                version=dict(type="str"),
                force=dict(type="bool", default=False),
            )
        ),
        required_if=[("state", "present", ["src"])],
        required_together=[("name", "version")],
        required_one_of=[("src", "name")],
    )
    p, client = module.params, module.client
    files = {}
    if p["src"]:
        name, version, files = read_package(module, p["src"])
    else:
        name, version = p["name"], p["version"]
    label = f"chart {name} {version}"
    try:
        charts = [c for c in client.list_charts() if c.get("name") == name and c.get("version") == version]
        if p["state"] == "absent":
            if not charts:
                module.exit_json(changed=False, msg=f"{label} is absent")
            if not module.check_mode:
                for chart in charts:
                    client.delete_chart(chart["uuid"])
            module.exit_json(
                changed=True,
                chart={"name": name, "version": version},
                msg=f"{label} deleted" + (" (check mode)" if module.check_mode else ""),
            )
        if charts and not p["force"]:
            current = client.get_chart(charts[-1]["uuid"])
            if same_content(current or {}, files):
                module.exit_json(
                    changed=False,
                    chart={"name": name, "version": version, "uuid": charts[-1]["uuid"]},
                    msg=f"{label} is already in KubeFATE",
                )
        verb = "replaced" if charts else "uploaded"
        if module.check_mode:
            module.exit_json(changed=True, chart={"name": name, "version": version}, msg=f"{label} would be {verb}")
        uuid = client.upload_chart(p["src"])
    except KubefateError as exc:
        module.fail_json(msg=f"{label}: {exc}")
    module.exit_json(changed=True, chart={"name": name, "version": version, "uuid": uuid}, msg=f"{label} {verb}")


if __name__ == "__main__":
    main()
