"""The evaluator's chunks of a long loop list (plugins/system/evaluate.py): every item once,
in order, with offsets that give each item its index in the whole list."""

from __future__ import annotations

import json

from plugins.system.evaluate import chunks


def test_chunks_hold_every_item_once_in_order_with_their_offsets() -> None:
    items = list(range(1003))
    out = chunks(items, 100, 1_000_000)
    assert [len(c["items"]) for c in out] == [100] * 10 + [3]
    assert [c["offset"] for c in out] == list(range(0, 1001, 100))
    assert [item for c in out for item in c["items"]] == items
    for chunk in out:
        assert chunk["items"][0] == chunk["offset"]


def test_chunks_stay_within_their_bytes() -> None:
    items = ["x" * 98] * 50  # 100 bytes of JSON each: ten make a list of 1,011 bytes
    out = chunks(items, 1_000, 1_011)
    assert [len(c["items"]) for c in out] == [10] * 5
    assert all(len(json.dumps(c["items"], separators=(",", ":"))) <= 1_011 for c in out)
    assert [len(c["items"]) for c in chunks(items, 1_000, 1_010)] == [9] * 5 + [5]


def test_an_item_larger_than_a_chunk_is_a_chunk_of_its_own() -> None:
    out = chunks(["small", "y" * 5_000, "small"], 100, 1_000)
    assert [c["items"] for c in out] == [["small"], ["y" * 5_000], ["small"]]
    assert [c["offset"] for c in out] == [0, 1, 2]


def test_no_items_no_chunks() -> None:
    assert chunks([], 10, 1_000) == []
