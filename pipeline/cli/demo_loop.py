"""The demo's feedback loop: training store, analyst team and retrain watcher.

``fraudstream demo`` starts these beside the worker so that the whole mission runs on one
screen: alerts reach the analysts, their verdicts and the chargebacks of missed frauds reach
the store, and the watcher retrains on them, promoting a better model to the running worker
through ``fraud.model-updates.v1``. This module starts the three processes and reads what
they did (labels on the store, retrain reports, the registry's current version).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from models.registry import Registry
from models.retrain import count_labels

Spawn = Callable[[list[str], Path], subprocess.Popen[bytes]]


@dataclass(frozen=True)
class LoopOptions:
    #: the watcher retrains once this many new labels reached the store ...
    labels: int = 300
    #: ... or after this many seconds
    every_s: float = 600.0
    #: analysts: wall seconds from an alert to its verdict
    review_delay: str = "1-4"
    #: wall time from an allowed fraud to its chargeback
    chargeback_delay: str = "20s"


@dataclass(frozen=True)
class Retrain:
    """One finished retrain, as its report says."""

    outcome: str  # promoted / kept / refused
    champion: str
    challenger: str | None
    headline: str
    seconds: float
    report: Path


class FeedbackLoop:
    """The store, the analysts and the retrain watcher of one demo run."""

    def __init__(self, folder: Path, registry: Registry) -> None:
        self.folder = folder
        self.registry = registry
        self.store_dir = folder / "store"
        self.reports_dir = folder / "retrain"

    def start_labels(self, spawn: Spawn, options: LoopOptions) -> list[subprocess.Popen[bytes]]:
        """The training store and the analyst team (their logs next to the data)."""
        store = spawn(
            ["store", "--dir", str(self.store_dir), "--start", "earliest",
             "--flush-seconds", "2"],
            self.folder / "store.log",
        )  # fmt: skip
        analysts = spawn(
            ["simulate", "analysts", "--from-beginning", "--review-delay", options.review_delay,
             "--chargeback-delay", options.chargeback_delay, "--group",
             f"fraudstream-demo-analysts-{int(time.time())}"],
            self.folder / "analysts.log",
        )  # fmt: skip
        return [store, analysts]

    def start_watcher(self, spawn: Spawn, options: LoopOptions) -> subprocess.Popen[bytes]:
        """``retrain --watch`` on the store, publishing promotions to the running workers.

        The gate's reference is the store itself. The demo's champion learnt from the
        simulator's history, whose labels come from another process (customer claims, late
        chargebacks) than the live analysts, so its label shares would fail the rate checks
        for reasons that say nothing about the data's health; a new deployment has no
        trusted window of its own yet. The checks within the data (schema, ranges, unique
        ids, label conflicts, the analyst guard) apply as always.
        """
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        return spawn(
            ["retrain", "--watch", "--data", str(self.store_dir), "--reference",
             str(self.store_dir), "--out", str(self.reports_dir), "--watch-labels",
             str(options.labels), "--watch-every", str(options.every_s), "--watch-poll", "5"],
            self.folder / "retrain.log",
        )  # fmt: skip

    def labels(self) -> int:
        """Labels (analyst verdicts, chargebacks) the store has written so far."""
        try:
            return count_labels(self.store_dir)
        except (OSError, ValueError):
            return 0  # a file being written: read again at the next refresh

    def retrains(self) -> list[Retrain]:
        """Finished retrains, oldest first."""
        done = []
        for path in sorted(self.reports_dir.glob("*/retrain.json")):
            try:
                body: dict[str, Any] = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # being written
            done.append(
                Retrain(
                    outcome=str(body.get("outcome")),
                    champion=str(body.get("champion")),
                    challenger=body.get("challenger"),
                    headline=str(body.get("headline", "")),
                    seconds=float(sum((body.get("seconds") or {}).values())),
                    report=path.parent / "report.html",
                )
            )
        return done

    def current(self) -> str | None:
        return self.registry.current()


def loop_rows(loop: FeedbackLoop) -> list[tuple[str, str]]:
    """(measure, value) rows of the feedback loop for the demo's live table."""
    retrains = loop.retrains()
    rows = [
        ("labels in the training store", f"{loop.labels():,}"),
        ("retrains finished", f"{len(retrains)}"),
        ("current model", str(loop.current())),
    ]
    if retrains:
        last = retrains[-1]
        rows.append(("last retrain", f"{last.outcome} in {last.seconds:.0f}s: {last.headline}"))
    return rows
