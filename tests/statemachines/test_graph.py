from __future__ import annotations

from statemachines.graph import Edge, Graph, back_edges, is_series_parallel, must_run, topological_order


def graph(nodes: str, *pairs: str) -> Graph:
    edges = [Edge(i, p[0], "out", p[1]) for i, p in enumerate(pairs)]
    return Graph(list(nodes), edges)


def test_topological_order_is_deterministic_by_document_order() -> None:
    g = graph("dcba", "da", "ca", "ab")
    assert topological_order(g) == ["d", "c", "a", "b"]


def test_back_edges_find_each_cycle() -> None:
    g = graph("abcd", "ab", "bc", "ca", "dd")
    found = back_edges(g)
    assert [(e.source, e.target) for e, _ in found] == [("c", "a"), ("d", "d")]
    assert found[0][1] == ["a", "b", "c", "a"]


def test_must_run_intersects_predecessors() -> None:
    g = graph("sabj", "sa", "sb", "aj", "bj")
    certain = must_run(g, topological_order(g))
    assert g.members(certain["j"]) == ["s", "j"]


def test_series_parallel_recognition() -> None:
    assert is_series_parallel(["a"], [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], ["d"])
    assert is_series_parallel(["a", "b"], [], ["a", "b"])
    # the "N" shape (a Wheatstone bridge) is the smallest non-series-parallel DAG
    assert not is_series_parallel(
        ["s"], [("s", "a"), ("s", "b"), ("a", "c"), ("a", "d"), ("b", "d")], ["c", "d"]
    )
