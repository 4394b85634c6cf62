"""Builds hostvars the way an inventory would, for the federation model tests."""

import copy

from ansible_collections.fateops.kubefate.plugins.module_utils.federation import build_plan

#: The two parties of KubeFATE's examples (k8s-deploy/examples/party-9999, party-10000): node IPs and the
#: NodePort blocks they use (30091... and 30101...).
EXAMPLE_PARTIES = {9999: ("192.168.9.1", 30090), 10000: ("192.168.10.1", 30100)}


def node_ip(party_id):
    return f"10.{party_id // 65536 % 256}.{party_id // 256 % 256}.{party_id % 256}"


def federation(
    party_ids=(9999, 10000),
    *,
    name="fed",
    topology="mesh",
    backend="eggroll",
    version="2.0.0",
    serving=(),
    exchange=None,
    serving_exchange=False,
    kube=None,
    base=None,
    common=None,
    per_party=None,
):
    """hostvars of one federation.

    ``serving``: party ids that also get a FATE-Serving host. ``exchange``: True (or a dict of extra vars)
    adds the exchange host; default is True for star. ``kube``: function party id -> kube cluster name.
    ``base``: function party id -> fate_node_port_base (or None). ``per_party``: party id -> extra vars.
    """
    fed_vars = {"fate_federation": name, "fate_topology": topology, "fate_version": version, "fate_backend": backend}
    fed_vars.update(common or {})
    hostvars = {}
    for pid in party_ids:
        party_vars = dict(fed_vars)
        party_vars.update(
            fate_party_id=pid,
            fate_access={"type": "NodePort", "address": node_ip(pid)},
            group_names=[name, f"{name}_party_{pid}"],
        )
        if kube is not None:
            party_vars["fate_kube_cluster"] = kube(pid)
        if base is not None and base(pid) is not None:
            party_vars["fate_node_port_base"] = base(pid)
        party_vars.update((per_party or {}).get(pid, {}))
        hostvars[f"{name}-fate-{pid}"] = copy.deepcopy(party_vars)
        if pid in serving:
            hostvars[f"{name}-serving-{pid}"] = dict(copy.deepcopy(party_vars), fate_deployment="serving")
    if exchange is None:
        exchange = topology == "star"
    if exchange:
        ex_vars = dict(fed_vars)
        ex_vars.update(
            fate_deployment="exchange",
            fate_access={"type": "NodePort", "address": "10.0.0.1"},
            group_names=[name, f"{name}_exchange"],
        )
        if kube is not None:
            ex_vars["fate_kube_cluster"] = kube(None)
        if isinstance(exchange, dict):
            ex_vars.update(exchange)
        hostvars[f"{name}-exchange"] = ex_vars
        if serving_exchange:
            hostvars[f"{name}-serving-exchange"] = dict(copy.deepcopy(ex_vars), fate_deployment="serving_exchange")
    return hostvars


def example_federation(topology="mesh", backend="eggroll", version="2.0.0", **kwargs):
    """KubeFATE's two example parties with their IPs and NodePorts, FATE-Serving, and an exchange."""
    per_party = {
        pid: {"fate_access": {"type": "NodePort", "address": ip}, "fate_node_port_base": base}
        for pid, (ip, base) in EXAMPLE_PARTIES.items()
    }
    hv = federation(
        (9999, 10000),
        topology=topology,
        backend=backend,
        version=version,
        serving=(9999, 10000),
        exchange=kwargs.pop("exchange", {"fate_access": {"type": "NodePort", "address": "192.168.0.1"}}),
        per_party=per_party,
        **kwargs,
    )
    return hv


def plan_of(hostvars, hosts=None, *, ok=True):
    plan = build_plan(hostvars, hosts)
    if ok:
        assert plan["errors"] == [], plan["errors"]
    return plan


def spec(plan, host):
    return plan["clusters"][host]["cluster_yaml"]
