"""A Great Expectations expectation the gate needs beyond the core set.

GX 1.24's ``ExpectColumnQuantileValuesToBeBetween`` returns numpy booleans in its result,
which GX's own validation-result store then fails to serialise ("Object of type bool is not
JSON serializable"). The subclass below is that expectation with plain Python results; its
metrics, rendering and Data Docs output are GX's own.
"""

from __future__ import annotations

from typing import Any

import great_expectations as gx


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


class ExpectColumnQuantilesToBeWithinReference(
    gx.expectations.ExpectColumnQuantileValuesToBeBetween
):
    """Each quantile of the column lies in its range (ranges built from a reference window)."""

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        out = super()._validate(metrics, runtime_configuration, execution_engine)
        out["success"] = bool(out["success"])
        result = out.get("result", {})
        details = result.get("details", {})
        if "success_details" in details:
            details["success_details"] = [bool(x) for x in details["success_details"]]
        observed = result.get("observed_value")
        if isinstance(observed, dict) and "values" in observed:
            observed["values"] = [_plain(v) for v in observed["values"]]
        return out
