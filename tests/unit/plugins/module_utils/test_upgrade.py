"""Which chart changes the collection lets through to KubeFATE, and the reasons it gives for the others."""

import pytest
from ansible_collections.fateops.kubefate.plugins.module_utils.upgrade import transition, version_key


@pytest.mark.parametrize(
    ("version", "key"),
    [("v1.11.2", (1, 11, 2)), ("1.9.1", (1, 9, 1)), ("v2.0.0", (2, 0, 0)), ("v1.7.1-a", (1, 7, 1)), ("v2", (2, 0, 0))],
)
def test_version_key(version, key):
    assert version_key(version) == key


@pytest.mark.parametrize(
    ("current", "target", "operation"),
    [
        (("fate", "v1.11.2"), ("fate", "v1.11.2"), "update"),
        (("fate", "v1.9.1"), ("fate", "v1.11.2"), "upgrade"),
        (("fate", "v1.11.2"), ("fate", "v2.0.0"), "upgrade"),
        (("fate", "v1.7.2"), ("fate", "v1.8.0"), "upgrade"),
        (("fate-exchange", "v1.9.1"), ("fate-exchange", "v1.11.2"), "upgrade"),
        (("fate-serving", "v2.1.6"), ("fate-serving", "v2.1.6"), "update"),
    ],
)
def test_allowed(current, target, operation):
    assert transition(*current, *target) == (operation, "")


def test_downgrade_is_refused_with_kubefates_reason():
    operation, reason = transition("fate", "v2.0.0", "fate", "v1.11.2")
    assert operation == "refuse"
    assert reason.startswith("fate v2.0.0 -> fate v1.11.2: downgrade")
    assert "using kubefate to downgrade a cluster is not supported yet" in reason


def test_downgrade_of_the_exchange_is_refused_too():
    # KubeFATE itself would run the helm upgrade to the older chart for fate-exchange.
    assert transition("fate-exchange", "v1.11.2", "fate-exchange", "v1.9.1")[0] == "refuse"


def test_chart_change_is_refused():
    operation, reason = transition("fate", "v1.11.2", "fate-serving", "v2.1.6")
    assert operation == "refuse"
    assert "cannot change chart" in reason and "doesn't support upgrade between different charts" in reason


@pytest.mark.parametrize("source", ["v1.7.1", "v1.6.0", "v1.7.1-a"])
def test_upgrade_from_1_7_1_or_older_is_refused(source):
    operation, reason = transition("fate", source, "fate", "v1.9.1")
    assert operation == "refuse"
    assert "upgrade from FATE version <= 1.7.1 is not supported by KubeFATE" in reason


def test_old_exchange_may_be_upgraded():
    # The 1.7.1 limit is the upgrade manager's (FATE's MySQL schema); the exchange has none.
    assert transition("fate-exchange", "v1.6.0", "fate-exchange", "v1.9.1") == ("upgrade", "")
