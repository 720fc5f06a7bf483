"""Networks of people: co-offending, intelligence associations, shared vehicles, phones and addresses.

* :mod:`.graph`: :class:`Network`, built from link tables (no protected attribute can enter);
* :mod:`.edges`: link tables from incidents, intelligence records and shared things;
* :mod:`.metrics`: components, degree, betweenness, eigenvector, PageRank, communities, bridges;
* :mod:`.keyplayer`: Borgatti's key-player sets, KPP-Neg (fragmentation) and KPP-Pos (reach);
* :mod:`.synthetic`: a seeded offender network of any size, for benchmarks.
"""

from openilp.analysis.networks.edges import association_links, co_offending_links, shared_links, two_mode_links
from openilp.analysis.networks.graph import LINK_TYPES, NODE_COLUMNS, Network, build_network
from openilp.analysis.networks.keyplayer import KeyPlayerSet, fragmentation, kpp_negative, kpp_positive, m_reach

__all__ = [
    "LINK_TYPES",
    "NODE_COLUMNS",
    "KeyPlayerSet",
    "Network",
    "association_links",
    "build_network",
    "co_offending_links",
    "fragmentation",
    "kpp_negative",
    "kpp_positive",
    "m_reach",
    "shared_links",
    "two_mode_links",
]
