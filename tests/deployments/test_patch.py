"""Merge patch (RFC 7386) and dotted keys: pure functions, no database."""

import pytest

from deployments.spec.patch import PatchError, apply_patch, merge_patch, parse_dotted, set_dotted

# The examples of RFC 7386 appendix A, as (target, patch, result).
RFC_7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target,patch,result", RFC_7386_EXAMPLES)
def test_merge_patch_follows_rfc_7386(target, patch, result):
    assert merge_patch(target, patch) == result


def test_merge_patch_does_not_modify_its_inputs():
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def test_it_reads_dotted_keys_with_indexes():
    assert parse_dotted("containers[0].env[2].value") == ["containers", 0, "env", 2, "value"]
    assert parse_dotted("metadata.instance") == ["metadata", "instance"]


@pytest.mark.parametrize("key", ["", "[0].a", "a..b", "a[x]", "a.[0]b c"])
def test_it_rejects_malformed_dotted_keys(key):
    with pytest.raises(PatchError):
        parse_dotted(key)


def test_set_dotted_creates_missing_objects_and_replaces_list_items():
    config = {"containers": [{"image": "a"}]}
    assert set_dotted(config, "containers[0].image", "b") == {"containers": [{"image": "b"}]}
    assert set_dotted(config, "metadata.rpc.keepalive", 5000)["metadata"] == {"rpc": {"keepalive": 5000}}
    assert set_dotted(config, "containers[1]", {"image": "c"})["containers"][1] == {"image": "c"}


def test_set_dotted_refuses_indexes_past_the_end():
    with pytest.raises(PatchError, match="out of range"):
        set_dotted({"containers": []}, "containers[3].image", "x")


def test_apply_patch_mixes_merge_keys_and_dotted_keys():
    config = {"name": "s", "metadata": {"instance": 1, "cpu": 1}}
    patched = apply_patch(config, {"metadata": {"cpu": 2}, "metadata.instance": 3})
    assert patched == {"name": "s", "metadata": {"instance": 3, "cpu": 2}}
