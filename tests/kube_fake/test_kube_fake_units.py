"""The fake's pure helpers in process: patches, selectors, field sets (no server, no client)."""

from __future__ import annotations

import pytest
from kube_fake import patching
from kube_fake.selectors import SelectorError, parse_field_selector, parse_label_selector


def test_label_selector_grammar():
    labels = {"app": "web", "tier": "front", "rank": "3"}
    assert parse_label_selector("app=web,tier in (front,back),!gone,rank>2")(labels)
    assert not parse_label_selector("app=web,tier notin (front)")(labels)
    assert parse_label_selector("")({})
    with pytest.raises(SelectorError):
        parse_label_selector("app=web,=x")
    assert parse_field_selector("metadata.name=a,metadata.namespace!=b", "ConfigMap")(
        {"metadata": {"name": "a", "namespace": "c"}}
    )
    assert parse_field_selector("status.phase=Running", "Pod")({"status": {"phase": "Running"}})
    with pytest.raises(SelectorError):
        parse_field_selector("status.phase=Running", "ConfigMap")


def test_strategic_merge_directives():
    original = {
        "metadata": {"finalizers": ["a"]},
        "spec": {
            "containers": [
                {"name": "a", "image": "x", "env": [{"name": "K", "value": "1"}]},
                {"name": "b", "image": "y"},
            ],
            "tolerations": [{"key": "t"}],
        },
    }
    patch = {
        "metadata": {"finalizers": ["b"]},
        "spec": {
            "containers": [{"name": "b", "$patch": "delete"}, {"name": "a", "env": [{"name": "K", "value": None}]}],
            "tolerations": [{"key": "u"}],
            "$setElementOrder/containers": [{"name": "a"}],
        },
    }
    merged = patching.strategic_merge(original, patch, "Pod")
    assert merged["metadata"]["finalizers"] == ["a", "b"]  # merged as a set
    assert merged["spec"]["containers"] == [{"name": "a", "image": "x", "env": [{"name": "K"}]}]
    assert merged["spec"]["tolerations"] == [{"key": "u"}]  # atomic list
    replaced = patching.strategic_merge(original, {"spec": {"$patch": "replace", "x": 1}}, "Pod")
    assert replaced["spec"] == {"x": 1}


def test_json_patch_and_merge_patch():
    doc = {"a": [1, 2], "b": {"c": 1}}
    assert patching.json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}])["a"] == [1, 2, 3]
    assert patching.json_patch(doc, [{"op": "move", "from": "/b/c", "path": "/d"}]) == {"a": [1, 2], "b": {}, "d": 1}
    with pytest.raises(patching.PatchError):
        patching.json_patch(doc, [{"op": "remove", "path": "/nope"}])
    assert patching.merge_patch(doc, {"b": None, "a": [9]}) == {"a": [9]}


def test_field_leaves_key_lists_by_merge_key():
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "labels": {"a": "b"}, "uid": "u"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i", "args": ["x"]}]}}},
    }
    leaves = patching.field_leaves(obj, "Deployment", skip_status=True)
    texts = patching.encode_fields(set(leaves))
    assert ".metadata.labels.a" in texts and ".metadata.uid" not in texts
    assert ".spec.template.spec.containers[name=c].args" in texts
    path = next(p for p in leaves if patching.path_text(p).endswith(".image"))
    assert patching.get_path(obj, path) == (True, "i")
    patching.remove_path(obj, path)
    assert obj["spec"]["template"]["spec"]["containers"][0] == {"name": "c", "args": ["x"]}
