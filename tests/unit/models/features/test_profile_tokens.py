"""A profile hands out its whole window or only its last positions, the same tokens."""

from __future__ import annotations

import numpy as np
import pytest

from models.features import AccountProfile
from models.features.profile import N_CAT, N_NUM


@pytest.mark.parametrize("seen", [0, 1, 5, 8, 13, 40])
@pytest.mark.parametrize("positions", [1, 3, 8, 20])
def test_last_positions_are_the_tail_of_the_window(seen: int, positions: int) -> None:
    rng = np.random.default_rng(seen)
    profile = AccountProfile(window=8)
    for _ in range(seen):
        profile.push(rng.integers(0, 50, N_CAT), rng.normal(size=N_NUM).astype(np.float32))
    cat, num, mask = profile.tokens()
    k = min(positions, 8)
    c, n, m = profile.tokens(positions)
    assert c.shape == (k, N_CAT) and n.shape == (k, N_NUM) and m.shape == (k,)
    assert (c.dtype, n.dtype, m.dtype) == (cat.dtype, num.dtype, mask.dtype)
    np.testing.assert_array_equal(c, cat[-k:])
    np.testing.assert_array_equal(n, num[-k:])
    np.testing.assert_array_equal(m, mask[-k:])
    assert int(m.sum()) == min(seen, k)
    c[:], n[:] = 99, 99.0  # copies: the ring is not touched
    again = profile.tokens()
    np.testing.assert_array_equal(again[0], cat)
    np.testing.assert_array_equal(again[1], num)
