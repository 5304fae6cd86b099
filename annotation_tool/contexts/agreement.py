"""Inter-rater agreement on 1-5 scores: quadratic-weighted Cohen's kappa for pairs and
Krippendorff's alpha (interval metric) over all raters with missing values allowed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CATEGORIES = (1, 2, 3, 4, 5)


def weighted_kappa(
    a: Sequence[int], b: Sequence[int], categories: Sequence[int] = CATEGORIES
) -> float | None:
    """Cohen's kappa with quadratic weights; None when undefined (no pairs, or both
    raters used one and the same category throughout)."""
    if len(a) != len(b):
        raise ValueError("the two raters must score the same items")
    if not a:
        return None
    k = len(categories)
    index = {c: i for i, c in enumerate(categories)}
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    i, j = np.meshgrid(range(k), range(k), indexing="ij")
    weights = (i - j) ** 2 / (k - 1) ** 2
    denominator = (weights * expected).sum()
    if denominator == 0:
        return None
    return float(1 - (weights * observed).sum() / denominator)


def krippendorff_alpha_interval(units: Sequence[Sequence[int | None]]) -> float | None:
    """``units`` holds one row per item with each rater's value or None. Units with
    fewer than two values are not pairable and are left out, as the method says."""
    values = [[v for v in unit if v is not None] for unit in units]
    values = [u for u in values if len(u) >= 2]
    if not values:
        return None
    n = sum(len(u) for u in values)
    # Observed disagreement: within-unit squared differences, weighted by 1/(m_u - 1).
    d_o = 0.0
    for u in values:
        arr = np.asarray(u, dtype=float)
        d_o += ((arr[:, None] - arr[None, :]) ** 2).sum() / (len(u) - 1)
    d_o /= n
    pooled = np.concatenate([np.asarray(u, dtype=float) for u in values])
    d_e = ((pooled[:, None] - pooled[None, :]) ** 2).sum() / (n * (n - 1))
    if d_e == 0:
        return None
    return float(1 - d_o / d_e)
