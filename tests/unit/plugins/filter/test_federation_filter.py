"""The federation filters: hostvars in, plain data out, clear errors."""

from collections.abc import Mapping

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.fateops.kubefate.plugins.filter.federation import (
    FilterModule,
    federation_cluster_yaml,
    federation_plan,
)


class LazyVars(Mapping):
    """Stands in for Ansible's HostVars/HostVarsVars: a read-only mapping that is not a dict."""

    def __init__(self, data):
        self._data = data

    def __getitem__(self, key):
        value = self._data[key]
        return LazyVars(value) if isinstance(value, dict) else value

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


class TaggedStr(str):
    """Stands in for Ansible's tagged/unsafe strings."""


def inventory():
    common = {"fate_federation": "fed", "fate_version": "2.0.0", "fate_mysql_password": TaggedStr("m")}
    return {
        "p1": dict(common, fate_party_id=9999, fate_access={"address": "10.0.0.1"}, group_names=["fed", "party_9999"]),
        "p2": dict(common, fate_party_id=10000, fate_access={"address": "10.0.0.2"}, group_names=["fed"]),
        "server": {"kubefate_url": "https://kubefate.example.org", "group_names": ["kubefate"]},
    }


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["federation_plan"] is federation_plan
    assert filters["federation_cluster_yaml"] is federation_cluster_yaml


def test_plan_from_lazy_hostvars_is_plain_data():
    plan = federation_plan(LazyVars(inventory()), ["p1", "p2", "server"])
    assert plan["errors"] == []
    assert plan["ignored_hosts"] == ["server"]
    spec = federation_cluster_yaml(plan, "p1")
    assert spec.__class__ is dict  # plain data, not Ansible's lazy containers
    assert spec["mysql"]["password"].__class__ is str
    assert spec["osx"]["partyList"] == [{"partyId": 10000, "partyIp": "10.0.0.2", "partyPort": 31001}]


def test_hosts_restrict_the_plan():
    plan = federation_plan(inventory(), ["p1"])
    assert set(plan["clusters"]) == {"p1"}
    assert "partyList" not in plan["clusters"]["p1"]["cluster_yaml"]["osx"]
    assert set(federation_plan(inventory())["clusters"]) == {"p1", "p2"}
    assert set(federation_plan(inventory(), "p2")["clusters"]) == {"p2"}


def test_bad_inputs():
    with pytest.raises(AnsibleFilterError, match="input must be hostvars"):
        federation_plan(["p1"])
    with pytest.raises(AnsibleFilterError, match="host 'nope' is not in hostvars"):
        federation_plan(inventory(), ["p1", "nope"])
    with pytest.raises(AnsibleFilterError, match="hosts must be a list"):
        federation_plan(inventory(), {"p1": 1})
    with pytest.raises(AnsibleFilterError, match=r"must be the result of fateops\.kubefate\.federation_plan"):
        federation_cluster_yaml({"p1": {}}, "p1")


def test_cluster_yaml_refuses_a_plan_with_errors_or_an_unknown_host():
    hv = inventory()
    hv["p2"]["fate_party_id"] = 9999
    plan = federation_plan(hv)
    assert plan["errors"]
    with pytest.raises(AnsibleFilterError, match=r"the federation plan has errors:\n.*fate_party_id"):
        federation_cluster_yaml(plan, "p1")
    with pytest.raises(AnsibleFilterError, match="host 'server' is not a FATE deployment"):
        federation_cluster_yaml(federation_plan(inventory()), "server")


def test_broken_variables_are_reported_with_the_host():
    class Broken(LazyVars):
        def __getitem__(self, key):
            if key == "fate_version":
                raise ValueError("'vault_x' is undefined")
            return super().__getitem__(key)

    hostvars = {"p1": Broken(inventory()["p1"])}
    with pytest.raises(
        AnsibleFilterError, match="host 'p1': variable fate_version cannot be templated: 'vault_x' is undefined"
    ):
        federation_plan(hostvars)
