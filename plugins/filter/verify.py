# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""Filters of the verify_federation playbook: FATE's toy test between the parties of a federation.

``verify_pairs`` (what to run where), ``verify_toy_command`` (one cluster's command), ``verify_toy_result`` (pass
or fail from the command's output) and ``verify_report`` (the table). Documentation of each filter is in its YAML
sidecar (``verify_pairs.yml``, ...).
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.fateops.kubefate.plugins.filter.federation import _plain
from ansible_collections.fateops.kubefate.plugins.module_utils.verify import (
    DEFAULT_TIMEOUT,
    VerifyError,
    report,
    toy_command,
    toy_pairs,
    toy_result,
)


def verify_pairs(plan, pairs=None, hosts=None, pod="auto", timeout=DEFAULT_TIMEOUT, task_cores=None):
    """The toy tests to run for a federation plan: ``{"pairs": [...], "errors": [...]}``."""
    if not isinstance(plan, Mapping) or "clusters" not in plan:
        raise AnsibleFilterError("verify_pairs: input must be the result of fateops.kubefate.federation_plan")
    try:
        return toy_pairs(_plain(plan), _plain(pairs), _plain(hosts), str(pod), timeout, _plain(task_cores))
    except VerifyError as exc:
        raise AnsibleFilterError("verify_pairs: %s" % exc) from exc


def verify_toy_command(cluster, host_party_id, pod="auto", timeout=DEFAULT_TIMEOUT, task_cores=None):
    """Pod, container and command of the toy test from one FATE training cluster to a host party."""
    try:
        return toy_command(_plain(cluster), host_party_id, str(pod), timeout, _plain(task_cores))
    except (VerifyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("verify_toy_command: %s" % exc) from exc


def verify_toy_result(result, pair=None, check_mode=False):
    """Pass or fail, with a reason, from a registered kubernetes.core.k8s_exec result of the toy test."""
    try:
        return toy_result(_plain(result), _plain(pair) if pair is not None else None, bool(check_mode))
    except VerifyError as exc:
        raise AnsibleFilterError("verify_toy_result: %s" % exc) from exc


def verify_report(results, check_mode=False):
    """The pass/fail table of every pair tested."""
    if not isinstance(results, (list, tuple)):
        raise AnsibleFilterError("verify_report: input must be a list of verify_toy_result rows")
    return report(_plain(list(results)), bool(check_mode))


class FilterModule:
    """fateops.kubefate verify filters."""

    def filters(self):
        return {
            "verify_pairs": verify_pairs,
            "verify_toy_command": verify_toy_command,
            "verify_toy_result": verify_toy_result,
            "verify_report": verify_report,
        }
