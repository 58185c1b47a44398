"""Property: whatever bytes arrive, the decoder returns a record or rejects with a reason."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import RECORD_TYPES, InvalidRecordError, decode

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
record_types = st.sampled_from(list(RECORD_TYPES.values()))


def _decodes_or_explains(record_type: type, data: bytes) -> None:
    try:
        record = decode(record_type, data)
    except InvalidRecordError as err:
        assert err.reason
        assert err.error_class in {"empty", "too_large", "not_json", "not_object", "invalid"}
    else:
        assert isinstance(record, record_type)


@settings(max_examples=400, deadline=None)
@given(record_types, st.binary(max_size=512))
def test_random_bytes_never_crash(record_type: type, data: bytes) -> None:
    _decodes_or_explains(record_type, data)


@settings(max_examples=400, deadline=None)
@given(record_types, json_values)
def test_random_json_never_crashes(record_type: type, value: object) -> None:
    _decodes_or_explains(record_type, orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(["2024-01-01T00:00:00Z", "EUR", "pos", "fraud", "analyst", "1e400", "-0"]),
)


@settings(max_examples=400, deadline=None)
@given(record_types, st.data())
def test_records_with_random_field_values_never_crash(
    record_type: type, data: st.DataObject
) -> None:
    fields = list(record_type.model_fields)
    obj = {name: data.draw(FIELD_VALUES) for name in fields if data.draw(st.booleans())}
    _decodes_or_explains(record_type, orjson.dumps(obj))
