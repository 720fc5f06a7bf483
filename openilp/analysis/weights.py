"""Spatial weights: who is a neighbour of whom, as a compressed sparse row (CSR) matrix in numpy.

A weights matrix ``W`` has one row and one column per spatial unit (grid cell, hexagon,
neighbourhood); ``W[i, j]`` is the weight unit ``j`` gets in unit ``i``'s local sum. The hot-spot
statistics (Getis & Ord 1992) only need ``W @ values``, row sums and row sums of squares, so the
matrix is kept as three numpy arrays (``indptr``, ``indices``, ``data``, the same layout as
``scipy.sparse.csr_matrix``) and multiplied in numpy: the analysis package needs no SciPy at run
time. Builders for lattices, hexagons and polygons live with the units (``SquareGrid.weights``,
``HexGrid.weights``, ``PolygonAreas.weights``); :func:`SpatialWeights.from_pairs` builds any other.

>>> w = SpatialWeights.from_pairs([0, 1, 1, 2], [1, 0, 2, 1], n=3)
>>> w.cardinalities().tolist()
[1, 2, 1]
>>> w.with_self_weight(1.0).matmul(np.array([1.0, 10.0, 100.0])).tolist()
[11.0, 111.0, 110.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["SpatialWeights"]


@dataclass(frozen=True)
class SpatialWeights:
    """A sparse ``n × n`` weights matrix in CSR form (rows sorted by column index).

    Parameters
    ----------
    indptr : ndarray of int64, shape (n + 1,)
        Row ``i``'s entries are ``indices[indptr[i]:indptr[i + 1]]``.
    indices : ndarray of int64
        Column (neighbour) index of each stored weight.
    data : ndarray of float64
        The weights (1.0 for binary contiguity or distance bands).
    n : int
        Number of spatial units.
    """

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    data: NDArray[np.float64]
    n: int

    @classmethod
    def from_pairs(
        cls, rows: ArrayLike, cols: ArrayLike, weights: ArrayLike | None = None, *, n: int
    ) -> SpatialWeights:
        """Build from (row, column, weight) triples; duplicate pairs are summed."""
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        if r.shape != c.shape:
            raise ValueError("rows and cols must have the same length")
        w = np.ones(len(r)) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        if len(r) and (r.min() < 0 or c.min() < 0 or r.max() >= n or c.max() >= n):
            raise ValueError(f"unit indices must lie in [0, {n})")
        key = r * n + c
        order = np.argsort(key, kind="stable")
        key, w = key[order], w[order]
        unique_key, start = np.unique(key, return_index=True)
        data = np.add.reduceat(w, start) if len(w) else w
        r_u, c_u = np.divmod(unique_key, n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(r_u, minlength=n), out=indptr[1:])
        return cls(indptr=indptr, indices=c_u.astype(np.int64), data=data.astype(np.float64), n=int(n))

    def row_index(self) -> NDArray[np.int64]:
        """Row of each stored weight (the COO row array)."""
        return np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))

    def cardinalities(self) -> NDArray[np.int64]:
        """Number of stored neighbours of each unit."""
        return np.diff(self.indptr)

    def row_sums(self) -> NDArray[np.float64]:
        """``W_i = Σ_j w_ij`` for each unit."""
        return self.matmul(np.ones(self.n))

    def row_sums_of_squares(self) -> NDArray[np.float64]:
        """``S1_i = Σ_j w_ij²`` for each unit."""
        squared = SpatialWeights(self.indptr, self.indices, self.data**2, self.n)
        return squared.matmul(np.ones(self.n))

    def matmul(self, values: ArrayLike) -> NDArray[np.float64]:
        """``W @ values`` for a vector (n,) or a matrix (n, k) of values."""
        x = np.asarray(values, dtype=np.float64)
        if x.shape[0] != self.n:
            raise ValueError(f"values have {x.shape[0]} rows, the weights {self.n}")
        gathered = x[self.indices] * (self.data if x.ndim == 1 else self.data[:, None])
        out = np.zeros(x.shape, dtype=np.float64)
        nonempty = np.diff(self.indptr) > 0
        if len(gathered):
            out[nonempty] = np.add.reduceat(gathered, self.indptr[:-1][nonempty], axis=0)
        return out

    def with_self_weight(self, weight: float = 1.0) -> SpatialWeights:
        """The same neighbours with the diagonal set to ``weight`` (Gi* includes the unit itself)."""
        rows = self.row_index()
        off = rows != self.indices
        diag = np.arange(self.n, dtype=np.int64)
        return SpatialWeights.from_pairs(
            np.concatenate([rows[off], diag]),
            np.concatenate([self.indices[off], diag]),
            np.concatenate([self.data[off], np.full(self.n, float(weight))]),
            n=self.n,
        )

    def subset(self, keep: ArrayLike) -> SpatialWeights:
        """Weights among the units where ``keep`` is true (a study-area mask), renumbered in order."""
        keep_mask = np.asarray(keep, dtype=bool)
        if keep_mask.shape != (self.n,):
            raise ValueError(f"the mask must have one entry per unit ({self.n})")
        new_index = np.full(self.n, -1, dtype=np.int64)
        new_index[keep_mask] = np.arange(int(keep_mask.sum()))
        rows = new_index[self.row_index()]
        cols = new_index[self.indices]
        ok = (rows >= 0) & (cols >= 0)
        return SpatialWeights.from_pairs(rows[ok], cols[ok], self.data[ok], n=int(keep_mask.sum()))

    def is_binary(self) -> bool:
        """True when every stored weight is 1."""
        return bool(np.all(self.data == 1.0))

    def to_dense(self) -> NDArray[np.float64]:
        """The full ``n × n`` matrix (for tests and small problems)."""
        dense = np.zeros((self.n, self.n))
        dense[self.row_index(), self.indices] = self.data
        return dense
