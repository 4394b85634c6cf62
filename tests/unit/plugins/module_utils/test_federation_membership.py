"""Adding or removing a party changes only the cluster.yamls whose route tables name it.

deploy_federation and remove_party update a cluster only when its cluster.yaml changes, so the set of changed
cluster.yamls between the federation with and without a party is exactly what a run touches.
"""

import pytest
from federation_inventory import federation, plan_of


def changed_hosts(before, after):
    return sorted(
        host
        for host in set(before["clusters"]) & set(after["clusters"])
        if before["clusters"][host]["cluster_yaml"] != after["clusters"][host]["cluster_yaml"]
    )


@pytest.mark.parametrize(
    ("topology", "backend", "version", "expected"),
    [
        # Star on a rollsite gateway: the parties send everything to the exchange; only it lists the parties.
        ("star", "eggroll", "1.11.2", ["fed-exchange"]),
        ("star", "spark_pulsar", "1.11.2", ["fed-exchange"]),
        # FATE 2.0.0's osx ignores the exchange setting: every party lists every peer at the exchange's address.
        ("star", "eggroll", "2.0.0", ["fed-exchange", "fed-fate-1", "fed-fate-2", "fed-fate-3"]),
        # Mesh: every peer's route table lists the new party.
        ("mesh", "eggroll", "2.0.0", ["fed-fate-1", "fed-fate-2", "fed-fate-3"]),
        ("mesh", "spark_rabbitmq", "1.11.2", ["fed-fate-1", "fed-fate-2", "fed-fate-3"]),
    ],
)
def test_a_new_party_changes_exactly_the_clusters_that_route_to_it(topology, backend, version, expected):
    hostvars = federation((1, 2, 3, 4), topology=topology, backend=backend, version=version)
    everyone = plan_of(hostvars)
    without_4 = plan_of(hostvars, [h for h in hostvars if h != "fed-fate-4"])
    assert changed_hosts(without_4, everyone) == expected
    # Removing it again is the same set of updates, in reverse.
    assert changed_hosts(everyone, without_4) == expected


@pytest.mark.parametrize(
    ("topology", "expected"),
    [
        # Its own FATE cluster learns its serving address; the peer's serving proxy (mesh) or the serving
        # exchange (star) learns the route to it. The other FATE cluster is untouched.
        ("mesh", ["fed-fate-2", "fed-serving-1"]),
        ("star", ["fed-fate-2", "fed-serving-exchange"]),
    ],
)
def test_a_serving_cluster_changes_its_party_and_the_serving_routes(topology, expected):
    hostvars = federation(
        (1, 2), topology=topology, serving=(1, 2), version="1.11.2", serving_exchange=topology == "star"
    )
    everyone = plan_of(hostvars)
    without = plan_of(hostvars, [h for h in hostvars if h != "fed-serving-2"])
    assert changed_hosts(without, everyone) == expected
