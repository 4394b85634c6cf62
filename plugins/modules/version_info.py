#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: version_info
short_description: Check that a KubeFATE server answers, and read its version
version_added: 1.0.0
description:
  - Calls KubeFATE's liveness route C(GET /), logs in and reads C(GET /v1/version/).
  - With O(wait), keeps trying until the server answers and accepts the credentials, up to O(wait_timeout)
    seconds; this is the readiness check to run after installing or restarting KubeFATE (its pod reports
    ready before the API can log anyone in).
author:
  - fateops maintainers (@fateops)
extends_documentation_fragment:
  - fateops.kubefate.connection
  - fateops.kubefate.connection.WAIT
  - fateops.kubefate.connection.INFO_MODULE
"""

EXAMPLES = r"""
- name: Wait until KubeFATE answers and accepts our credentials
  fateops.kubefate.version_info:
    url: http://kubefate.example.com
    password: "{{ vault_kubefate_password }}"
    wait: true
    wait_timeout: 300
"""

RETURN = r"""
version:
  description: The KubeFATE service version.
  returned: success
  type: str
  sample: v1.4.5
url:
  description: The URL that answered.
  returned: always
  type: str
seconds:
  description: Seconds until the server answered.
  returned: success
  type: float
msg:
  description: One line summary.
  returned: always
  type: str
"""

import time

from ansible_collections.fateops.kubefate.plugins.module_utils.common import KubefateModule, argument_spec
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import KubefateError


def main():
    module = KubefateModule(argument_spec=argument_spec(wait=True))
    p, client = module.params, module.client
    start = time.monotonic()
    deadline = start + (p["wait_timeout"] if p["wait"] else 0)
    while True:
        try:
            version = client.version()
            break
        except KubefateError as exc:
            if exc.status == 401 and "incorrect" in exc.server_text.lower():
                module.fail_json(
                    url=p["url"], msg=f"KubeFATE at {p['url']} refused the credentials of {p['username']!r}"
                )
            if time.monotonic() >= deadline:
                waited = f" after {int(time.monotonic() - start)}s" if p["wait"] else ""
                module.fail_json(url=p["url"], msg=f"KubeFATE at {p['url']} is not ready{waited}: {exc}")
            client.token = None
            time.sleep(min(p["wait_sleep"], max(0.0, deadline - time.monotonic())))
    seconds = round(time.monotonic() - start, 1)
    module.exit_json(
        changed=False,
        version=version,
        url=p["url"],
        seconds=seconds,
        msg=f"KubeFATE {version} at {p['url']} is ready",
    )


if __name__ == "__main__":
    main()
