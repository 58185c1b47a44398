"""Run the ``fraudstream`` CLI under cProfile with a CPU clock, for ``bench e2e --profile``.

    python -m pipeline.bench.profiled OUT.prof worker --web-port 6066

The profile counts the main thread's CPU time, not wall time: on a shared machine a
wall-clock profile charges the time a process waits for a CPU to whatever call it was in
(typically a socket send that woke the broker), which hides where the work goes.
"""

from __future__ import annotations

import cProfile
import sys
import time


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m pipeline.bench.profiled OUT.prof CLI-ARGS…")
    out, args = argv[0], argv[1:]
    from pipeline.cli.app import main as cli_main  # imported before profiling starts

    sys.argv = ["fraudstream", *args]
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        cli_main()
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main(sys.argv[1:])
