"""GateConfig refuses values that would make a check meaningless."""

from __future__ import annotations

import pytest

from data_quality import GateConfig, GateConfigError


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_analyst_label_share", 1.5),
        ("max_conflicting_label_share", -0.1),
        ("rate_sigma", -1.0),
        ("drift_bins", 1),
        ("drift_quantiles", (0.5, 1.5)),
    ],
)
def test_out_of_range_values_are_refused_by_name(field: str, value: object) -> None:
    with pytest.raises(GateConfigError, match=field):
        GateConfig(**{field: value})  # type: ignore[arg-type]


def test_defaults_are_valid() -> None:
    assert GateConfig().data_docs
