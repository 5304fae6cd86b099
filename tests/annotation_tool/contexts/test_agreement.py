"""Agreement statistics checked against values computed by a second, independent
route: kappa from the pairwise-difference form, alpha from the coincidence matrix."""

from __future__ import annotations

import itertools

import pytest

from annotation_tool.contexts.agreement import krippendorff_alpha_interval, weighted_kappa


def kappa_pairwise(a: list[int], b: list[int]) -> float:
    n = len(a)
    observed = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / n
    expected = sum((x - y) ** 2 for x in a for y in b) / (n * n)
    return 1 - observed / expected


def alpha_coincidence(units: list[list[int]]) -> float:
    values = sorted({v for u in units for v in u})
    o = {(c, k): 0.0 for c in values for k in values}
    for u in units:
        for i, j in itertools.permutations(range(len(u)), 2):
            o[u[i], u[j]] += 1 / (len(u) - 1)
    n_c = {c: sum(o[c, k] for k in values) for c in values}
    n = sum(n_c.values())
    d_o = sum(o[c, k] * (c - k) ** 2 for c in values for k in values)
    d_e = sum(n_c[c] * n_c[k] * (c - k) ** 2 for c in values for k in values) / (n - 1)
    return 1 - d_o / d_e


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([5, 4, 2, 1], [5, 4, 2, 2]),
        ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]),
        ([3, 3, 4, 5], [3, 4, 4, 4]),
    ],
)
def test_weighted_kappa_matches_pairwise_form(a, b):
    assert weighted_kappa(a, b) == pytest.approx(kappa_pairwise(a, b))


def test_weighted_kappa_perfect_and_reversed():
    assert weighted_kappa([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert weighted_kappa([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)


def test_weighted_kappa_undefined():
    assert weighted_kappa([], []) is None
    assert weighted_kappa([3, 3], [3, 3]) is None


def test_alpha_matches_coincidence_matrix():
    units = [[5, 5, 5], [4, 4, 3], [2, 2, 2], [1, 2, 1], [3, 4]]
    assert krippendorff_alpha_interval(units) == pytest.approx(alpha_coincidence(units))
    assert krippendorff_alpha_interval(units) == pytest.approx(0.9294871794871795, abs=0.05)


def test_alpha_skips_unpairable_units():
    with_missing = [[5, 5, None], [4, None, 3], [2, None, None], [1, 2, 1]]
    assert krippendorff_alpha_interval(with_missing) == pytest.approx(
        alpha_coincidence([[5, 5], [4, 3], [1, 2, 1]])
    )
    assert krippendorff_alpha_interval([[1, None], [None, 2]]) is None
