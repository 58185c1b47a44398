"""Bytes the worker writes to its state changelogs per event, in process.

    .venv/bin/python benchmarks/state_bytes.py [--events 40000] [--batch 256]
        [--registry .state/registry] [--version V]

Runs the simulator's event messages through ``Engine.score_batch`` as the worker does
(``benchmarks/engine.py``'s stream, dict stores written back after every batch) and counts
what each batch hands over to be written: account profiles and merchant-velocity keys
(their changelog records) and Scores. Also splits a stored profile into its JSON header
and its token ring.
"""

from __future__ import annotations

import argparse
import statistics
import struct

from engine import messages
from rich.console import Console
from rich.table import Table

from models.registry import Registry
from models.serving import OnnxScorer
from pipeline.settings import Settings
from pipeline.worker.engine import Engine

HEADER = struct.Struct("<4sI")  # models.features.serde's profile header: magic, JSON size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--registry", default=None)
    parser.add_argument("--version", default=None)
    args = parser.parse_args()
    settings = Settings()
    scorer = OnnxScorer.load(Registry(args.registry or settings.registry_dir), args.version)
    engine = Engine(window=settings.window, partitions=args.partitions,
                    limits=settings.decode_limits())  # fmt: skip
    msgs = messages(args.events, args.partitions, args.seed, None)
    accounts: dict[str, bytes] = {}
    activity: dict[str, bytes] = {}
    profile_sizes: list[int] = []
    merchant_sizes: list[int] = []
    score_sizes: list[int] = []
    for i in range(0, len(msgs), args.batch):
        out = engine.score_batch(msgs[i : i + args.batch], scorer, accounts, activity, {})
        accounts.update(out.accounts)
        activity.update(out.activity)
        profile_sizes += [len(v) for v in out.accounts.values()]
        merchant_sizes += [len(v) for v in out.activity.values()]
        score_sizes += [len(v) for _, v in out.scores]
    headers = [HEADER.unpack_from(v, 0)[1] for v in accounts.values()]
    n = len(msgs)
    table = Table(title=f"state bytes, {n:,} events, batches of {args.batch}")
    for column in ("record", "writes per event", "mean bytes", "bytes per event"):
        table.add_column(column, justify="right" if column != "record" else "left")
    total = sum(profile_sizes) + sum(merchant_sizes) + sum(score_sizes)
    for name, sizes in (("account profile", profile_sizes),
                        ("merchant velocity", merchant_sizes), ("Score", score_sizes)):  # fmt: skip
        table.add_row(
            name, f"{len(sizes) / n:.2f}", f"{statistics.mean(sizes):,.0f}",
            f"{sum(sizes) / n:,.0f} ({100 * sum(sizes) / total:.0f} %)",
        )  # fmt: skip
    Console().print(table)
    ring = statistics.mean(
        len(v) - HEADER.size - h for v, h in zip(accounts.values(), headers, strict=True)
    )
    Console().print(
        f"stored profiles: JSON header {statistics.mean(headers):,.0f} bytes on average, "
        f"token ring {ring:,.0f} bytes"
    )


if __name__ == "__main__":
    main()
