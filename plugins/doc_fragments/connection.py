# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)


class ModuleDocFragment:
    """Connection options shared by every module of fateops.kubefate."""

    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the KubeFATE server, C(http://) or C(https://), with an optional port and no path,
        for example C(https://kubefate.example.com) or C(http://10.0.0.5:31080).
      - Can also be set with the E(KUBEFATE_URL) environment variable (the KubeFATE API credential type injects it).
    type: str
    required: true
  username:
    description:
      - User to log in as (the KubeFATE bootstrap user from the C(kubefate-secret) secret).
      - Can also be set with E(KUBEFATE_USERNAME).
    type: str
    default: admin
  password:
    description:
      - Password of O(username).
      - Can also be set with E(KUBEFATE_PASSWORD).
    type: str
    required: true
  host_header:
    description:
      - Send this C(Host) header instead of the one derived from O(url).
      - Use it to reach KubeFATE through an ingress by IP address, where the ingress rule matches a host name.
      - Can also be set with E(KUBEFATE_HOST_HEADER).
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate when O(url) is C(https://).
      - Can also be set with E(KUBEFATE_VALIDATE_CERTS).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authority that signed the server's certificate.
      - Can also be set with E(KUBEFATE_CA_PATH).
    type: path
  request_timeout:
    description:
      - Seconds to wait for one HTTP answer.
      - Can also be set with E(KUBEFATE_REQUEST_TIMEOUT).
    type: int
    default: 30
  retry_timeout:
    description:
      - Seconds during which connection errors and HTTP 502, 503 and 504 answers (KubeFATE starting, its
        pod not ready behind the ingress) are retried with backoff before the call fails.
      - Any HTTP 401 (token expired, or KubeFATE restarted) is answered by logging in again once.
      - Can also be set with E(KUBEFATE_RETRY_TIMEOUT).
    type: int
    default: 60
notes:
  - The modules talk to the KubeFATE REST API with ansible-core's own URL helpers and need no extra Python library.
  - They run where the task runs; with C(ansible_connection=local) that is the controller.
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait until the KubeFATE job this task started (or found in flight) has finished.
      - Without it the module returns as soon as KubeFATE has accepted the job.
      - Not used in check mode.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the job before failing. KubeFATE's own limit is one hour per job, plus up to ten
        minutes for a version upgrade; jobs can also stay C(Running) forever after a server restart, so the
        module always applies this deadline.
    type: int
    default: 4200
  wait_sleep:
    description:
      - Seconds between two polls of the job.
    type: int
    default: 5
"""

    # Attributes of the read-only (_info) modules; use with ansible.builtin.action_common_attributes.
    INFO_MODULE = r"""
attributes:
  action_group:
    description: Use C(group/fateops.kubefate.kubefate) in C(module_defaults) to set the connection options once.
    support: full
    membership: [fateops.kubefate.kubefate]
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Only reads; check mode changes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
"""

    # The action group every module belongs to; use with ansible.builtin.action_common_attributes.
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/fateops.kubefate.kubefate) in C(module_defaults) to set the connection options once.
    support: full
    membership: [fateops.kubefate.kubefate]
"""
