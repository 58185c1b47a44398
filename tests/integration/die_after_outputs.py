"""``python -m tests.integration.die_after_outputs worker ...``: ``fraudstream`` whose worker
dies (``os._exit``, no flush, no commit) right after the broker acknowledged the Scores of
its N-th batch, before the state that records them is written: the one window in which a
redelivered event finds no trace of itself in the state although its Score is on the
broker. N comes from ``DIE_AFTER_OUTPUT_BATCHES``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pipeline.worker.app as worker_app
from pipeline.cli.app import main
from pipeline.worker.sending import Sent
from schemas import Topic

EXIT_STATUS = 86
_after = int(os.environ["DIE_AFTER_OUTPUT_BATCHES"])
_delivered = worker_app.delivered
_batches = 0


async def _delivered_then_die(sent: Sequence[Sent]) -> None:
    global _batches
    await _delivered(sent)
    if any(s.topic == Topic.SCORES.value for s in sent):
        _batches += 1
        if _batches >= _after:
            os._exit(EXIT_STATUS)


worker_app.delivered = _delivered_then_die
main()
