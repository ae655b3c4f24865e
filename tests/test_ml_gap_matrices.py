"""The skill-gap matrices of the evaluation and the skill-gap baseline
(``ml.baselines.teaches_gap_matrix``, ``gap_match``) are built without every
person × gap skill × item row at once, and the peer priors (``ml.skill_prior``) without
a (persons × skills) temporary per argument (memory at 100,000 persons, issue #16): they
must be exactly what the plain computation gives, whatever the chunk size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ml.baselines as baselines
import ml.skill_prior as skill_prior
from ml.baselines import gap_match, gap_teaching, teaches_gap_matrix
from ml.skill_prior import expected_gaps, skill_levels
from tests.fixtures.ml.synthetic import make_org


@pytest.fixture(scope="module", params=[0, 1])
def org(request):
    marts = make_org(persons=300, items=120, seed=request.param).marts
    persons = pd.Index(sorted(marts.employees["person_key"].astype(str)), dtype=object)
    items = pd.Index(marts.content["content_id"].astype(str), dtype=object)
    return marts, persons, items


def test_teaches_gap_matrix_holds_exactly_the_pairs_gap_teaching_lists(org) -> None:
    marts, persons, items = org
    some = persons[::2]  # a subset: persons outside it must not leak in
    pairs = gap_teaching(marts, some, items)
    expected = set(
        zip(
            some.get_indexer(pairs["person_key"]),
            items.get_indexer(pairs["content_id"]),
            strict=True,
        )
    )
    matrix = teaches_gap_matrix(marts, some, items)
    assert matrix.shape == (len(some), len(items)) and matrix.dtype == bool
    assert set(zip(*matrix.nonzero(), strict=True)) == expected
    assert 0 < matrix.nnz < matrix.shape[0] * matrix.shape[1]


def test_gap_match_is_the_same_matrix_whatever_the_chunk(org, monkeypatch) -> None:
    marts, persons, items = org
    whole = gap_match(marts, persons, items)
    monkeypatch.setattr(baselines, "CHUNK", 7)
    chunked = gap_match(marts, persons, items)
    whole.sort_indices()
    chunked.sort_indices()
    assert chunked.shape == whole.shape and whole.nnz > 0
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(chunked, part), getattr(whole, part)), part


def test_peer_priors_and_expected_gaps_are_the_same_whatever_the_chunk(org, monkeypatch) -> None:
    marts, _, _ = org
    whole, gaps = skill_levels(marts), expected_gaps(marts)
    monkeypatch.setattr(skill_prior, "CHUNK", 7)
    chunked = skill_levels(marts)
    assert np.isfinite(whole.prior).any()
    assert np.array_equal(chunked.prior, whole.prior, equal_nan=True)
    # lookup computes the expected level of the pairs only: the matrix's values
    expected = whole.expected[
        whole.person_keys.get_indexer(gaps["person_key"]),
        whole.skill_ids.get_indexer(gaps["skill_id"]),
    ]
    assert np.array_equal(gaps["expected_level"].to_numpy(), expected)
    assert expected_gaps(marts).equals(gaps)
