"""The sampler: parameter checks, temperature limits, top-k/top-p supports, masks, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from livernn.errors import ConfigError
from livernn.sampling import SamplingParams, probabilities, sample

LOGITS = np.array([2.0, 0.5, 3.0, -1.0, 2.9, 0.0, 1.0, -4.0], dtype=np.float32)


def draws(logits, params, n=4000, seed=0, mask=None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = np.broadcast_to(np.asarray(logits), (n, len(logits)))
    return sample(rows, params, rng, mask)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"temperature": 0},
        {"temperature": -1.0},
        {"temperature": math.nan},
        {"temperature": math.inf},
        {"temperature": "hot"},
        {"top_k": -1},
        {"top_k": 2.5},
        {"top_k": True},
        {"top_p": 0.0},
        {"top_p": 1.5},
        {"top_p": math.nan},
        {"top_p": -0.1},
    ],
)
def test_validate_rejects(kwargs):
    p = SamplingParams(**kwargs)
    with pytest.raises(ConfigError) as ei:
        p.validate()
    assert next(iter(kwargs)) in str(ei.value)
    with pytest.raises(ConfigError):
        sample(LOGITS, p, np.random.default_rng(0))


def test_validate_accepts_edges():
    for p in [SamplingParams(), SamplingParams(1e-6, 1, 1e-9), SamplingParams(1e6, 10**6, 1.0)]:
        assert p.validate() is p


def test_frozen():
    with pytest.raises(AttributeError):
        SamplingParams().temperature = 2.0  # type: ignore[misc]


def test_tiny_temperature_is_argmax():
    ids = draws(LOGITS, SamplingParams(temperature=1e-6))
    assert (ids == int(np.argmax(LOGITS))).all()
    p = probabilities(LOGITS, SamplingParams(temperature=1e-6))
    assert np.isfinite(p).all() and p[0, 2] == 1.0


def test_huge_temperature_is_uniform():
    n, V = 16000, len(LOGITS)
    counts = np.bincount(draws(LOGITS, SamplingParams(temperature=1e6), n=n), minlength=V)
    expected = n / V
    # each count within 5 standard deviations of a uniform draw
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected * (1 - 1 / V))), counts
    p = probabilities(np.array([1e30, -1e30, 0.0]), SamplingParams(temperature=1e6))
    assert np.isfinite(p).all()


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_frequencies_follow_the_softmax(temperature):
    n = 16000
    counts = np.bincount(draws(LOGITS, SamplingParams(temperature), n=n), minlength=len(LOGITS))
    q = softmax(LOGITS.astype(np.float64) / temperature)
    sd = np.sqrt(n * q * (1 - q))
    assert np.all(np.abs(counts - n * q) < 5 * sd + 1), (counts, n * q)


def test_top_k_support():
    ids = draws(LOGITS, SamplingParams(temperature=5.0, top_k=3))
    assert set(ids.tolist()) == {0, 2, 4}  # the three largest logits, all seen at T=5
    ids = draws(LOGITS, SamplingParams(top_k=1))
    assert (ids == 2).all()
    # k >= V changes nothing
    same = SamplingParams(top_k=len(LOGITS))
    np.testing.assert_allclose(probabilities(LOGITS, same), probabilities(LOGITS, SamplingParams()))


def test_top_p_keeps_the_smallest_prefix():
    q = softmax(LOGITS.astype(np.float64))
    order = np.argsort(-q)
    for top_p in [0.05, 0.3, 0.5, 0.8, 0.95]:
        k = int(np.searchsorted(np.cumsum(q[order]), top_p) + 1)
        p = probabilities(LOGITS, SamplingParams(top_p=top_p))[0]
        assert set(np.flatnonzero(p)) == set(order[:k].tolist()), top_p
        np.testing.assert_allclose(p[order[:k]], q[order[:k]] / q[order[:k]].sum())
    ids = draws(LOGITS, SamplingParams(top_p=0.5))
    assert set(ids.tolist()) <= {2, 4}


def test_mask_is_respected():
    mask = np.zeros(len(LOGITS), dtype=bool)
    mask[[3, 7]] = True  # the two least likely
    ids = draws(LOGITS, SamplingParams(), mask=mask)
    assert set(ids.tolist()) == {3, 7}
    with pytest.raises(ConfigError, match="allows no character"):
        sample(LOGITS, SamplingParams(), np.random.default_rng(0), np.zeros(8, bool))
    with pytest.raises(ConfigError, match="mask shape"):
        sample(LOGITS, SamplingParams(), np.random.default_rng(0), np.ones(5, bool))


def test_seeded_reproducibility():
    a = draws(LOGITS, SamplingParams(temperature=1.5), n=500, seed=42)
    b = draws(LOGITS, SamplingParams(temperature=1.5), n=500, seed=42)
    c = draws(LOGITS, SamplingParams(temperature=1.5), n=500, seed=43)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    rng1, rng2 = np.random.default_rng(7), np.random.default_rng(7)
    one = [sample(LOGITS, SamplingParams(), rng1) for _ in range(50)]
    two = [sample(LOGITS, SamplingParams(), rng2) for _ in range(50)]
    assert one == two and all(isinstance(i, int) for i in one)


def test_batched_rows_are_independent():
    rows = np.stack([LOGITS, -LOGITS, np.roll(LOGITS, 3)])
    ids = sample(rows, SamplingParams(temperature=1e-3), np.random.default_rng(0))
    assert ids.dtype == np.int64 and ids.shape == (3,)
    assert ids.tolist() == [int(np.argmax(r)) for r in rows]
    mask = np.ones((3, 8), bool)
    mask[1] = False
    mask[1, 0] = True
    assert sample(rows, SamplingParams(), np.random.default_rng(0), mask)[1] == 0


def test_non_finite_logits():
    p = SamplingParams()
    rng = np.random.default_rng(0)
    assert sample(np.array([np.nan, 1.0, np.nan]), p, rng) == 1
    assert sample(np.array([0.0, np.inf, 5.0]), p, rng) == 1
    assert sample(np.array([np.nan, np.nan]), p, rng) in (0, 1)
    assert sample(np.array([-np.inf, -np.inf, -np.inf]), p, rng, np.array([0, 1, 1], bool)) in (
        1,
        2,
    )
    with pytest.raises(ConfigError, match="logits"):
        sample(np.zeros((2, 2, 2)), p, rng)


@st.composite
def cases(draw):
    B = draw(st.integers(1, 3))
    V = draw(st.integers(1, 40))
    finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
    anything = st.one_of(finite, st.just(np.nan), st.just(np.inf), st.just(-np.inf))
    logits = draw(
        hnp.arrays(np.float32, (B, V), elements=draw(st.sampled_from([finite, anything])))
    )
    mask = draw(st.one_of(st.none(), hnp.arrays(np.bool_, (B, V))))
    if mask is not None:
        mask[:, draw(st.integers(0, V - 1))] = True
    params = SamplingParams(
        temperature=draw(st.floats(1e-6, 1e6)),
        top_k=draw(st.integers(0, V + 2)),
        top_p=draw(st.floats(1e-6, 1.0)),
    )
    return logits, mask, params, draw(st.integers(0, 2**32))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_never_nan_always_in_range_mask_respected(case):
    logits, mask, params, seed = case
    p = probabilities(logits, params, mask)
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-9)
    if mask is not None:
        assert (p[~mask] == 0).all()
    if params.top_k:
        assert ((p > 0).sum(axis=1) <= params.top_k).all()
    ids = sample(logits, params, np.random.default_rng(seed), mask)
    assert ids.shape == (logits.shape[0],)
    assert ((ids >= 0) & (ids < logits.shape[1])).all()
    assert (p[np.arange(len(ids)), ids] > 0).all()
    m0 = None if mask is None else mask[0]
    one = sample(logits[0], params, np.random.default_rng(seed), m0)
    assert isinstance(one, int) and 0 <= one < logits.shape[1]
    # the one-row fast path gives the same distribution as the batched path
    two = np.stack([logits[0], logits[0]])
    m2 = None if mask is None else np.stack([m0, m0])
    np.testing.assert_allclose(
        probabilities(logits[0], params, m0)[0], probabilities(two, params, m2)[1], atol=1e-12
    )


def test_entropy_bits_is_the_models_own():
    from livernn.sampling import entropy_bits

    assert entropy_bits(np.zeros(64)) == pytest.approx(6.0)  # uniform over 64: 6 bits
    assert entropy_bits(np.array([50.0, 0.0, 0.0, -np.inf])) == pytest.approx(0.0, abs=1e-15)
    two = np.array([3.0, 3.0, -np.inf, np.nan])
    assert entropy_bits(two) == pytest.approx(1.0)  # impossible and NaN entries do not count
    assert entropy_bits(np.full(8, -np.inf)) == 0.0
