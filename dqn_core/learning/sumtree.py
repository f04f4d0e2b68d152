"""A sum tree over replay slots for prioritized replay (Schaul et al. 2016): O(log n) updates and proportional sampling.

Vectorised over batches: a batch of leaves is set, or a batch of prefix sums searched, one tree level at a time.
"""
from __future__ import annotations

import numpy as np


class SumTree:
    """Binary tree in an array: node i has children 2i and 2i+1; leaves start at `self.size` (a power of two)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 1 << max(0, int(np.ceil(np.log2(max(capacity, 1)))))
        self.tree = np.zeros(2 * self.size, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def get(self, slots: np.ndarray) -> np.ndarray:
        return self.tree[self.size + np.asarray(slots)]

    def set(self, slots: np.ndarray, values: np.ndarray) -> None:
        """Set leaf values and recompute the sums above them."""
        nodes = self.size + np.asarray(slots, dtype=np.int64)
        self.tree[nodes] = values
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def find(self, prefix: np.ndarray) -> np.ndarray:
        """For each prefix sum in [0, total), the slot whose cumulative range contains it."""
        u = np.asarray(prefix, dtype=np.float64).copy()
        nodes = np.ones(len(u), dtype=np.int64)
        while nodes[0] < self.size:
            left = 2 * nodes
            go_right = u >= self.tree[left]
            u -= np.where(go_right, self.tree[left], 0.0)
            nodes = left + go_right
        return nodes - self.size

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Stratified proportional sampling: one draw from each of `batch_size` equal slices of the total."""
        total = self.total
        bounds = (np.arange(batch_size) + rng.random(batch_size)) * (total / batch_size)
        slots = self.find(np.minimum(bounds, np.nextafter(total, 0)))
        return np.minimum(slots, self.capacity - 1)
