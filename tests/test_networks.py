"""Networks: link tables, metrics against networkx, key-player sets against brute force and the
literature (Zachary's karate club), the synthetic generator, and the protected-attribute guard."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import shared_file
from hypothesis import given, settings
from hypothesis import strategies as st

from openilp.analysis.networks import (
    build_network,
    co_offending_links,
    fragmentation,
    kpp_negative,
    kpp_positive,
    m_reach,
    metrics,
    shared_links,
)
from openilp.analysis.networks._cut_kernel import cut_pass
from openilp.analysis.networks.synthetic import synthetic_adjacency, synthetic_links
from openilp.ingest.crimelinkage import read_crimelinkage


def _adjacency(graph: nx.Graph) -> sp.csr_matrix:
    nodes = sorted(graph.nodes)
    matrix = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=None, format="csr")
    return sp.csr_matrix((matrix > 0).astype(np.float64))


def _karate() -> tuple[nx.Graph, sp.csr_matrix]:
    graph = nx.karate_club_graph()
    return graph, _adjacency(graph)


def _by_node(values: dict[int, float], n: int) -> np.ndarray:
    return np.array([values[i] for i in range(n)])


# --- link tables -------------------------------------------------------------------------------


def test_co_offending_links_by_hand() -> None:
    arrests = pd.DataFrame(
        {
            "person": ["a", "b", "c", "a", "d", "a"],
            "incident": ["I1", "I1", "I1", "I2", "I2", "I3"],
            "date": ["2024-01-05", "2024-01-03", "2024-01-09", "2024-02-01", "2024-02-01", "2024-03-01"],
        }
    )
    links = co_offending_links(arrests)
    assert links[["source", "target", "record"]].values.tolist() == [
        ["a", "b", "I1"],
        ["a", "c", "I1"],
        ["a", "d", "I2"],
        ["b", "c", "I1"],
    ]
    assert str(links.loc[0, "date"])[:10] == "2024-01-03"  # the earlier of the two dates
    assert set(links["link_type"]) == {"co_offending"}


def test_large_groups_do_not_link_everyone() -> None:
    hostel = pd.DataFrame({"person": [f"p{i}" for i in range(60)], "address": "1 Shelter Road"})
    assert shared_links(hostel, thing="address", link_type="shared_address").empty
    pair = pd.DataFrame({"person": ["a", "b"], "phone": ["555-0101"] * 2, "record": ["R7", "R8"]})
    links = shared_links(pair, thing="phone", link_type="shared_phone")
    assert links[["source", "target", "via", "record"]].values.tolist() == [["a", "b", "555-0101", "R7"]]


@pytest.mark.realdata
def test_co_offending_on_crimelinkage_matches_a_pair_loop() -> None:
    """Co-offenders in the crimelinkage offender truth: the self-join equals a plain loop."""
    data = read_crimelinkage(shared_file("crimelinkage", "crimes.csv"), shared_file("crimelinkage", "offenders.csv"))
    arrests = pd.DataFrame(data.offender_links, columns=["person", "incident"])
    links = co_offending_links(arrests)
    by_crime: dict[str, set[str]] = {}
    for person, crime in data.offender_links:
        by_crime.setdefault(crime, set()).add(person)
    expected = {
        (a, b, crime) for crime, people in by_crime.items() for a, b in itertools.combinations(sorted(people), 2)
    }
    assert set(map(tuple, links[["source", "target", "record"]].values.tolist())) == expected
    assert len(expected) > 50  # the truth has real co-offending
    network = build_network(links)
    labels = metrics.components(network.adjacency)
    reference = list(nx.connected_components(network.to_networkx()))
    assert labels.max() + 1 == len(reference)


# --- the network -------------------------------------------------------------------------------


def test_protected_attributes_never_enter_a_network() -> None:
    links = pd.DataFrame({"source": ["a"], "target": ["b"], "link_type": ["association"]})
    for column in ("race", "ethnicity", "national_origin", "religion", "subject_race"):
        nodes = pd.DataFrame({"id": ["a", "b"], column: ["x", "y"]})
        with pytest.raises(ValueError, match="protected attribute"):
            build_network(links, nodes)
        with pytest.raises(ValueError, match="protected attribute"):
            build_network(links.assign(**{column: "x"}))
    with pytest.raises(ValueError, match="does not use"):
        build_network(links, pd.DataFrame({"id": ["a"], "gang_score": [3]}))
    with pytest.raises(ValueError, match="unknown link type"):
        build_network(links.assign(link_type="same_neighbourhood"))


def test_filter_and_neighbourhood() -> None:
    links = pd.DataFrame(
        {
            "source": ["a", "b", "c", "d"],
            "target": ["b", "c", "d", "e"],
            "link_type": ["co_offending", "association", "shared_phone", "co_offending"],
            "date": ["2023-01-01", "2024-01-01", "2024-06-30", None],
            "record": ["I1", "R1", "R2", "I2"],
        }
    )
    network = build_network(links, pd.DataFrame({"id": ["a", "z"], "kind": ["person", "organisation"]}))
    assert network.n_nodes == 6 and network.n_links == 4
    assert network.node_kinds[list(network.node_ids).index("z")] == "organisation"
    two_hops = network.neighbourhood(["a"], hops=2)
    assert sorted(two_hops.node_ids) == ["a", "b", "c"]
    assert two_hops.n_links == 2
    dated = network.filter_links(date_from=pd.Timestamp("2024-01-01").date(), date_to=pd.Timestamp("2024-06-30").date())
    assert sorted(dated.links["record"]) == ["R1", "R2"]  # undated links drop out under a date filter
    typed = network.filter_links(link_types=["co_offending"])
    assert typed.n_edges == 2
    multigraph = network.to_networkx()
    assert multigraph.number_of_edges() == 4
    assert multigraph["a"]["b"][0]["record"] == "I1"
    with pytest.raises(KeyError, match="not in the network"):
        network.neighbourhood(["nobody"])


# --- metrics against networkx ------------------------------------------------------------------


def test_metrics_match_networkx_on_the_karate_club() -> None:
    graph, adjacency = _karate()
    n = graph.number_of_nodes()
    np.testing.assert_allclose(metrics.degree(adjacency), _by_node(nx.degree_centrality(graph), n))
    np.testing.assert_allclose(
        metrics.betweenness(adjacency), _by_node(nx.betweenness_centrality(graph), n), atol=1e-12
    )
    np.testing.assert_allclose(
        metrics.eigenvector(adjacency), _by_node(nx.eigenvector_centrality_numpy(graph, weight=None), n), atol=1e-9
    )
    np.testing.assert_allclose(
        metrics.pagerank(adjacency), _by_node(nx.pagerank(graph, weight=None, tol=1e-12), n), atol=1e-7
    )
    for method in metrics.COMMUNITY_METHODS:
        labels = metrics.communities(adjacency, method=method)
        parts = [set(np.flatnonzero(labels == k).tolist()) for k in range(labels.max() + 1)]
        q = nx.community.modularity(graph, parts, weight=None)
        assert metrics.modularity(adjacency, labels) == pytest.approx(q)
        # the best known partition of the club has Q = 0.4198 (Brandes et al. 2008); Louvain/Leiden reach 0.40+
        assert 0.40 <= q <= 0.4198 + 1e-4
    assert metrics.bridges(adjacency).tolist() == [[0, 11]]
    assert metrics.articulation_points(adjacency).tolist() == [0]


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=2, max_value=40), st.integers(min_value=0, max_value=90), st.integers(0, 10_000))
def test_components_bridges_and_cut_points_match_networkx(n: int, m: int, seed: int) -> None:
    graph = nx.gnm_random_graph(n, m, seed=seed)
    adjacency = _adjacency(graph)
    labels = metrics.components(adjacency)
    expected = sorted(sorted(c) for c in nx.connected_components(graph))
    found = sorted(np.flatnonzero(labels == k).tolist() for k in range(labels.max() + 1))
    assert found == expected
    assert sorted(map(tuple, metrics.bridges(adjacency).tolist())) == sorted(
        tuple(sorted(edge)) for edge in nx.bridges(graph)
    )
    assert metrics.articulation_points(adjacency).tolist() == sorted(nx.articulation_points(graph))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=2, max_value=30), st.integers(min_value=0, max_value=60), st.integers(0, 10_000))
def test_one_pass_gives_every_removal_exactly(n: int, m: int, seed: int) -> None:
    """The compiled pass's Σ s² after removing v equals removing v and recounting, for every v."""
    graph = nx.gnm_random_graph(n, m, seed=seed)
    adjacency = _adjacency(graph)
    component, sizes, after_sq, _, _ = cut_pass(adjacency.indptr, adjacency.indices, np.zeros(n, dtype=bool))
    total = float(np.square(sizes.astype(float)).sum())
    for v in range(n):
        rest = graph.copy()
        rest.remove_node(v)
        brute = sum(len(c) ** 2 for c in nx.connected_components(rest))
        assert total - sizes[component[v]] ** 2 + after_sq[v] == brute


# --- key players -------------------------------------------------------------------------------


def _brute_best(adjacency: sp.csr_matrix, k: int, score: object) -> float:
    return max(score(adjacency, members) for members in itertools.combinations(range(adjacency.shape[0]), k))  # type: ignore[operator]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_kpp_negative_finds_the_optimum_of_the_karate_club(k: int) -> None:
    """Greedy with swaps reaches the brute-force optimum of F over all C(34, k) sets."""
    _, adjacency = _karate()
    found = kpp_negative(adjacency, k)
    assert found.score == pytest.approx(fragmentation(adjacency, found.members))
    assert found.score == pytest.approx(_brute_best(adjacency, k, fragmentation))
    assert found.score >= found.greedy_score


def test_key_players_of_the_karate_club_are_its_leaders() -> None:
    """Zachary (1977): the club split between the instructor (node 1) and the administrator (node 34).

    KPP-Pos with k = 2 picks exactly these two (they reach 29 of the other 32 members in one step);
    KPP-Neg with k = 1 picks the instructor, whose departure cuts off six members, and with k = 3
    the two leaders and node 33 (F = 0.6435, the optimum). Node numbers here are Zachary's (1-based).
    """
    _, adjacency = _karate()
    positive = kpp_positive(adjacency, 2)
    assert [m + 1 for m in positive.members] == [1, 34]
    assert positive.score == pytest.approx(29 / 32)
    assert positive.score == pytest.approx(_brute_best(adjacency, 2, m_reach))
    assert [m + 1 for m in kpp_negative(adjacency, 1).members] == [1]
    three = kpp_negative(adjacency, 3)
    assert [m + 1 for m in three.members] == [1, 33, 34]
    assert three.score == pytest.approx(0.6435, abs=1e-4)
    # four people reach everyone in one step (a dominating set of the club)
    assert kpp_positive(adjacency, 4).score == 1.0


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=6, max_value=25), st.integers(min_value=5, max_value=50), st.integers(0, 10_000))
def test_key_player_scores_are_true_and_bounded(n: int, m: int, seed: int) -> None:
    adjacency = _adjacency(nx.gnm_random_graph(n, m, seed=seed))
    for k in (1, 2):
        negative = kpp_negative(adjacency, k)
        assert 0.0 <= negative.greedy_score <= negative.score <= 1.0
        assert negative.score == pytest.approx(fragmentation(adjacency, negative.members))
        positive = kpp_positive(adjacency, k)
        assert 0.0 <= positive.greedy_score <= positive.score <= 1.0
        assert positive.score == pytest.approx(m_reach(adjacency, positive.members))
    assert kpp_positive(adjacency, 1).score == pytest.approx(_brute_best(adjacency, 1, m_reach))
    assert kpp_negative(adjacency, 1).score == pytest.approx(_brute_best(adjacency, 1, fragmentation))


def test_m_reach_counts_two_steps() -> None:
    path = _adjacency(nx.path_graph(5))
    assert m_reach(path, (0,), max_distance=1) == pytest.approx(1 / 4)
    assert m_reach(path, (0,), max_distance=2) == pytest.approx(2 / 4)
    assert kpp_positive(path, 1, max_distance=2).members == (2,)
    with pytest.raises(ValueError, match="max_distance"):
        m_reach(path, (0,), max_distance=4)
    with pytest.raises(ValueError, match="k must be"):
        kpp_negative(path, 0)


# --- the synthetic network ---------------------------------------------------------------------


def test_synthetic_network_is_exact_and_seeded() -> None:
    adjacency = synthetic_adjacency(20_000, seed=3)
    assert adjacency.nnz == 40_000
    assert (adjacency != adjacency.T).nnz == 0
    assert adjacency.diagonal().sum() == 0
    again = synthetic_adjacency(20_000, seed=3)
    assert (adjacency != again).nnz == 0
    links = synthetic_links(5_000, seed=3)
    assert len(links.drop_duplicates(["source", "target"])) == 5_000
    degrees = np.diff(adjacency.indptr)
    assert degrees.max() > 5 * degrees.mean()  # heavy-tailed: a few prolific offenders
