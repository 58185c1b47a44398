"""Model inputs shared by training and serving: the flattened last token.

Tree models read one row per event: the scored event's categorical codes (as float32) then
its continuous values, the layout of ``Replay.last_tokens()``. Training and the scorer both
call :func:`last_token_features`, so the two can never drift apart.
"""

from __future__ import annotations

import numpy as np

from models.exceptions import InputShapeError
from schemas.features import CATEGORICAL, CONTINUOUS

N_CAT = len(CATEGORICAL)
N_NUM = len(CONTINUOUS)
#: column names of the flattened token, in order
FEATURE_NAMES: tuple[str, ...] = (*CATEGORICAL, *CONTINUOUS)


def last_token_features(cat: np.ndarray, num: np.ndarray) -> np.ndarray:
    """``[B, Fc+Fn]`` float32 from windows (``[B,K,Fc]``, ``[B,K,Fn]``) or tokens (``[B,F]``).

    For windows the scored event is the last position (oldest first, left padded).
    """
    if cat.ndim == 3:
        cat, num = cat[:, -1, :], num[:, -1, :]
    if cat.ndim != 2 or num.ndim != 2 or cat.shape[0] != num.shape[0]:
        raise InputShapeError(
            f"expected matching [B,F] or [B,K,F] inputs, got {cat.shape} and {num.shape}"
        )
    if cat.shape[1] != N_CAT or num.shape[1] != N_NUM:
        raise InputShapeError(
            f"expected {N_CAT} categorical + {N_NUM} continuous features per token "
            f"(schemas.features), got {cat.shape[1]} + {num.shape[1]}"
        )
    out = np.empty((cat.shape[0], N_CAT + N_NUM), dtype=np.float32)
    out[:, :N_CAT] = cat
    out[:, N_CAT:] = num
    return out
