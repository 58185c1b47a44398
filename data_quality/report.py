"""The gate's verdict: which checks failed, with what, and the summary files."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from data_quality.plan import CHECK, Skipped
from data_quality.runner import Outcome

SUMMARY_JSON = "summary.json"
SUMMARY_MARKDOWN = "summary.md"
#: expectation arguments worth repeating in the summary (large ones are left to Data Docs)
EXPECTED_KWARGS = (
    "min_value",
    "max_value",
    "strict_min",
    "strict_max",
    "value_set",
    "regex",
    "threshold",
    "mostly",
    "quantile_ranges",
)


def plain(value: Any) -> Any:
    """A JSON-ready copy: numpy scalars unwrapped, NaN/inf as strings, datetimes in ISO."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        try:
            value = item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else str(value)


@dataclass(frozen=True, slots=True)
class FailedExpectation:
    """One expectation that did not hold (or could not be evaluated: ``error``)."""

    check: str
    table: str
    expectation_type: str
    column: str | None
    description: str
    observed: Any
    expected: dict[str, Any]
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: list[Any] = field(default_factory=list)
    error: str | None = None

    def observed_text(self, examples: int = 3) -> str:
        """The observation in one short line (``examples`` failing values at most)."""
        if self.error:
            return f"error: {self.error}"
        if self.unexpected_count is not None:
            share = f" ({self.unexpected_percent:.2f}%)" if self.unexpected_percent else ""
            shown = "; ".join(_short(e) for e in self.examples[:examples])
            return f"{self.unexpected_count} unexpected{share}" + (f": {shown}" if shown else "")
        observed = self.observed
        if isinstance(observed, dict) and {"quantiles", "values"} <= observed.keys():
            pairs = zip(observed["quantiles"], observed["values"], strict=False)
            return " ".join(f"q{q:g}={_short(v)}" for q, v in pairs)
        return _short(observed)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return "null" if value is None else str(value)


def failure(outcome: Outcome, examples: int) -> FailedExpectation | None:
    """The failure an outcome describes, or None when it passed."""
    result = outcome.result
    config = result.expectation_config
    assert config is not None
    raised = bool(result.exception_info and result.exception_info.get("raised_exception"))
    if result.success and not raised:
        return None
    details = result.result or {}
    kwargs = config.kwargs
    index = details.get("partial_unexpected_index_list") or []
    values = details.get("partial_unexpected_list") or []
    return FailedExpectation(
        check=str((config.meta or {}).get(CHECK, f"{outcome.table}.{config.type}")),
        table=outcome.table,
        expectation_type=config.type,
        column=kwargs.get("column"),
        description=config.description or config.type,
        observed=plain(details.get("observed_value")),
        expected={k: plain(kwargs[k]) for k in EXPECTED_KWARGS if kwargs.get(k) is not None},
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=plain(details.get("unexpected_percent")),
        examples=plain((index or values)[:examples]),
        error=(result.exception_info or {}).get("exception_message") if raised else None,
    )


@dataclass(frozen=True)
class GateResult:
    """Passed or not, what failed, and where the report lies."""

    passed: bool
    data_dir: Path
    reference_dir: Path | None
    evaluated: int
    failed: tuple[FailedExpectation, ...]
    skipped: tuple[Skipped, ...]
    out_dir: Path
    data_docs: Path | None
    summary_json: Path
    summary_markdown: Path
    started_at: datetime
    seconds: float

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(f.check for f in self.failed)

    def headline(self) -> str:
        """One line: the verdict and where to look."""
        if self.passed:
            return (
                f"data gate passed: {self.evaluated} expectations held on {self.data_dir}"
                f" (report {self.out_dir})"
            )
        names = ", ".join(self.failed_checks[:4]) + (", ..." if len(self.failed) > 4 else "")
        return (
            f"data gate FAILED: {len(self.failed)} of {self.evaluated} expectations failed on "
            f"{self.data_dir} ({names}); see {self.summary_markdown}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "data_dir": str(self.data_dir),
            "reference_dir": str(self.reference_dir) if self.reference_dir else None,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "evaluated": self.evaluated,
            "failed": [plain(asdict(f)) for f in self.failed],
            "skipped": [asdict(s) for s in self.skipped],
            "data_docs": str(self.data_docs) if self.data_docs else None,
        }


def _markdown(result: GateResult) -> str:
    verdict = "PASSED" if result.passed else "FAILED"
    lines = [
        f"# Data gate {verdict}",
        "",
        f"- data: `{result.data_dir}`",
        f"- reference: `{result.reference_dir}`" if result.reference_dir else "- reference: none",
        f"- run: {result.started_at.isoformat()} ({result.seconds:.1f} s)",
        f"- expectations: {result.evaluated} evaluated, {len(result.failed)} failed, "
        f"{len(result.skipped)} skipped",
    ]
    if result.data_docs:
        lines.append(f"- Data Docs: `{result.data_docs}`")
    if result.failed:
        lines += [
            "",
            "## Failed expectations",
            "",
            "| check | expectation | observed |",
            "|---|---|---|",
        ]
        for f in result.failed:
            observed = f.observed_text(len(f.examples)).replace("|", "\\|")
            lines.append(f"| `{f.check}` | {f.description} | {observed} |")
    if result.skipped:
        lines += ["", "## Skipped checks", ""]
        lines += [f"- `{s.check}`: {s.reason}" for s in result.skipped]
    return "\n".join(lines) + "\n"


def write_summary(result: GateResult) -> None:
    """Write ``summary.json`` and ``summary.md`` where the result says."""
    result.summary_json.write_text(
        json.dumps(result.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    result.summary_markdown.write_text(_markdown(result), encoding="utf-8")
