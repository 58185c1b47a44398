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


@pytest.mark.parametrize("seen", [0, 1, 7, 8, 9, 15, 16, 17, 40])
@pytest.mark.parametrize("positions", [1, 5, 8])
def test_window_is_the_last_pushed_tokens_oldest_first_across_the_ring_wrap(
    seen: int, positions: int
) -> None:
    rng = np.random.default_rng(100 + seen)
    profile = AccountProfile(window=8)
    pushed = []
    for _ in range(seen):
        token = (rng.integers(1, 50, N_CAT), rng.normal(size=N_NUM).astype(np.float32))
        profile.push(*token)
        pushed.append(token)
    n = min(seen, positions)
    cat, num, mask = profile.tokens(positions)
    assert mask.tolist() == [0] * (positions - n) + [1] * n
    assert not cat[: positions - n].any() and not num[: positions - n].any()
    for row, (c, x) in zip(range(positions - n, positions), pushed[seen - n :], strict=True):
        np.testing.assert_array_equal(cat[row], c)
        np.testing.assert_array_equal(num[row], x)


def test_tokens_into_fills_one_row_of_a_batch_and_leaves_the_others() -> None:
    rng = np.random.default_rng(3)
    profile = AccountProfile(window=8)
    for _ in range(11):
        profile.push(rng.integers(1, 50, N_CAT), rng.normal(size=N_NUM).astype(np.float32))
    cats = np.zeros((3, 8, N_CAT), dtype=np.int64)
    nums = np.zeros((3, 8, N_NUM), dtype=np.float32)
    masks = np.zeros((3, 8), dtype=np.int64)
    profile.tokens_into(cats[1], nums[1], masks[1])
    cat, num, mask = profile.tokens()
    np.testing.assert_array_equal(cats[1], cat)
    np.testing.assert_array_equal(nums[1], num)
    np.testing.assert_array_equal(masks[1], mask)
    assert not cats[[0, 2]].any() and not nums[[0, 2]].any() and not masks[[0, 2]].any()
