# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""Filters over the federation model: ``federation_plan`` and ``federation_cluster_yaml``.

Documentation of each filter is in its YAML sidecar (``federation_plan.yml``, ``federation_cluster_yaml.yml``).
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.fateops.kubefate.plugins.module_utils.federation import (
    KNOWN_VARIABLES,
    PLAYBOOK_FACTS,
    PLAYBOOK_VARIABLES,
    FederationError,
    build_plan,
    cluster_yaml,
)
from ansible_collections.fateops.kubefate.plugins.module_utils.servers import kube_cluster_plan as _kube_cluster_plan
from ansible_collections.fateops.kubefate.plugins.module_utils.spec import redact as _redact
from ansible_collections.fateops.kubefate.plugins.module_utils.spec import secret_values
from ansible_collections.fateops.kubefate.plugins.module_utils.summary import summarize

#: Host variables the model reads besides the ``fate_*`` ones.
_EXTRA_VARS = ("group_names",)


def _plain(value):
    """Ansible's lazy/tagged containers and strings (vault values included) -> plain Python data."""
    if value is None:
        return value
    # Ansible tags scalars (_AnsibleTaggedInt...): plain types keep error messages and comparisons plain.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {(_plain(k) if isinstance(k, str) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "_ciphertext") or type(value).__name__ in ("AnsibleVaultEncryptedUnicode", "EncryptedString"):
        return to_text(value)
    return value


def _host_vars(hostvars, host):
    try:
        variables = hostvars[host]
    except KeyError:
        return None
    out = {}
    for key in variables:
        if not isinstance(key, str) or key in PLAYBOOK_VARIABLES or key in PLAYBOOK_FACTS:
            continue
        if key.startswith("fate_") and key not in KNOWN_VARIABLES:
            out[key] = None  # reported by name (misspelt variable); its value is not needed
        elif key.startswith("fate_") or key in _EXTRA_VARS:
            try:
                out[key] = _plain(variables[key])
            except Exception as exc:  # an undefined or broken template in the inventory
                raise AnsibleFilterError("host '%s': variable %s cannot be templated: %s" % (host, key, exc)) from exc
    return out


def federation_plan(hostvars, hosts=None):
    """Every host's cluster.yaml, the federations, and all preflight errors and warnings."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("federation_plan: input must be hostvars (a mapping of host name to variables)")
    if hosts is None:
        names = list(hostvars)
    elif isinstance(hosts, str):
        names = [hosts]
    elif isinstance(hosts, (list, tuple)):
        names = [str(h) for h in hosts]
    else:
        raise AnsibleFilterError("federation_plan: hosts must be a list of host names")
    variables = {}
    for name in names:
        found = _host_vars(hostvars, name)
        if found is None:
            raise AnsibleFilterError("federation_plan: host '%s' is not in hostvars" % name)
        variables[name] = found
    return build_plan(variables, names)


def federation_cluster_yaml(plan, host):
    """The cluster.yaml (a dict) of one host of a plan; fails when the plan has errors."""
    if not isinstance(plan, Mapping) or "clusters" not in plan:
        raise AnsibleFilterError(
            "federation_cluster_yaml: input must be the result of fateops.kubefate.federation_plan"
        )
    try:
        return cluster_yaml(plan, host)
    except FederationError as exc:
        raise AnsibleFilterError("federation_cluster_yaml: %s" % exc) from exc


def kube_cluster_plan(plan, kube_clusters, default_domain="example.com", charts=None, chart_dir=None):
    """The Kubernetes clusters a federation plan uses, with their KubeFATE server and ingress settings."""
    if not isinstance(plan, Mapping) or "clusters" not in plan:
        raise AnsibleFilterError("kube_cluster_plan: input must be the result of fateops.kubefate.federation_plan")
    return _kube_cluster_plan(_plain(plan), _plain(kube_clusters), default_domain, _plain(charts), _plain(chart_dir))


def federation_summary(results, plan=None, check_mode=False):
    """The deployment summary table from the ``deployment_result`` facts of the deployed hosts."""
    if not isinstance(results, (list, tuple)):
        raise AnsibleFilterError("federation_summary: input must be a list of deployment_result facts")
    return summarize(_plain(list(results)), _plain(plan) if plan is not None else None, bool(check_mode))


def redact(value, secrets=None):
    """``value`` with the given secret values, secret-looking keys, tokens and private keys masked."""
    return _redact(_plain(value), [str(s) for s in _plain(list(secrets or []))])


def federation_secrets(plan, kube_plan=None, extra=None):
    """Every password the inventory configured for a federation: the values ``redact`` must hide."""
    found = secret_values(_plain(plan or {}))
    secret_values(_plain(kube_plan or {}), found)
    secret_values(_plain(extra or {}), found)
    return sorted(found)


class FilterModule:
    """fateops.kubefate federation filters."""

    def filters(self):
        return {
            "federation_plan": federation_plan,
            "federation_cluster_yaml": federation_cluster_yaml,
            "kube_cluster_plan": kube_cluster_plan,
            "federation_summary": federation_summary,
            "federation_secrets": federation_secrets,
            "redact": redact,
        }
