# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)
"""Which chart changes KubeFATE can carry out on an existing cluster, decided before any request.

KubeFATE validates a version change of chart ``fate`` only after the request arrives, and validates nothing
for ``fate-exchange`` and ``fate-serving`` (a ``helm upgrade`` to another chart or an older version would run).
The collection refuses all of these up front, with the reason, so that a federation-wide upgrade can be
checked for every cluster before the first one is touched. Plain Python.
"""

import re

#: KubeFATE's own texts (``FateUpgradeManager.validate``), quoted in the reasons.
KUBEFATE_CHART_CHANGE = "doesn't support upgrade between different charts"
KUBEFATE_DOWNGRADE = "using kubefate to downgrade a cluster is not supported yet"
KUBEFATE_OLD_SOURCE = "upgrade from FATE version <= 1.7.1 is not supported by KubeFATE"
LAST_UNSUPPORTED_SOURCE = (1, 7, 1)


def version_key(version):
    """``"v1.11.2"`` -> ``(1, 11, 2)``; a pre-release suffix (``v1.7.1-a``) sorts with its release."""
    numbers = re.findall(r"\d+", str(version or ""))
    return tuple(int(n) for n in numbers[:3]) + (0,) * (3 - len(numbers[:3]))


def transition(current_chart, current_version, chart, version):
    """Classify moving a cluster from ``current_chart current_version`` to ``chart version``.

    Returns ``(operation, reason)``: operation is ``update`` (same chart and version), ``upgrade`` (a newer
    version of the same chart) or ``refuse``; reason is empty unless refused.
    """
    label = f"{current_chart} {current_version} -> {chart} {version}"
    if current_chart != chart:
        return "refuse", (
            f"{label}: a cluster cannot change chart (KubeFATE: {KUBEFATE_CHART_CHANGE}); delete it and install anew"
        )
    old, new = version_key(current_version), version_key(version)
    if old == new:
        return "update", ""
    if new < old:
        return "refuse", f"{label}: downgrade (KubeFATE: {KUBEFATE_DOWNGRADE}); restore from backup instead"
    if chart == "fate" and old <= LAST_UNSUPPORTED_SOURCE:
        return "refuse", f"{label}: {KUBEFATE_OLD_SOURCE}; follow FATE's manual migration guide"
    return "upgrade", ""
