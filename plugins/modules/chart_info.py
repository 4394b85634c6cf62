#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: chart_info
short_description: List the chart packages KubeFATE holds
version_added: 1.0.0
description:
  - Returns the charts uploaded to (or downloaded by) KubeFATE, optionally only those of a name and version.
  - The templates of each chart are left out unless O(templates) is set (they are large).
author:
  - fateops maintainers (@fateops)
options:
  name:
    description: Only charts of this name.
    type: str
  version:
    description: Only charts of this version.
    type: str
  templates:
    description: Include the chart's templates and values files.
    type: bool
    default: false
extends_documentation_fragment:
  - fateops.kubefate.connection
  - fateops.kubefate.connection.INFO_MODULE
"""

EXAMPLES = r"""
- name: Is the FATE 2.0.0 chart in KubeFATE?
  fateops.kubefate.chart_info:
    name: fate
    version: v2.0.0
  register: fate_chart
"""

RETURN = r"""
charts:
  description: The charts, each with C(uuid), C(name), C(version) and C(app_version).
  returned: success
  type: list
  elements: dict
msg:
  description: One line summary.
  returned: always
  type: str
"""

from ansible_collections.fateops.kubefate.plugins.module_utils.common import KubefateModule, argument_spec
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import KubefateError

BULKY = ("templates", "values", "values_template", "values_template_example", "chart")


def main():
    module = KubefateModule(
        argument_spec=argument_spec(
            dict(name=dict(type="str"), version=dict(type="str"), templates=dict(type="bool", default=False))
        ),
    )
    p = module.params
    try:
        charts = module.client.list_charts()
    except KubefateError as exc:
        module.fail_json(msg=str(exc))
    selected = [
        c if p["templates"] else {k: v for k, v in c.items() if k not in BULKY}
        for c in charts
        if (not p["name"] or c.get("name") == p["name"]) and (not p["version"] or c.get("version") == p["version"])
    ]
    listing = ", ".join(f"{c.get('name')} {c.get('version')}" for c in selected[:8])
    module.exit_json(
        changed=False, charts=selected, msg=f"{len(selected)} charts" + (f": {listing}" if listing else "")
    )


if __name__ == "__main__":
    main()
