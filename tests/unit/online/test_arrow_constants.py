"""Constants built from bytes equal the ones pyarrow builds from Python values."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aligned_cli.online.arrow_constants import int64_array, int64_scalar, text_scalar


@settings(deadline=None)  # the first pa.scalar imports pandas
@given(text=st.text())
def test_text_scalars(text: str) -> None:
    assert text_scalar(text).equals(pa.scalar(text, pa.string()))
    assert text_scalar(text, large=True).equals(pa.scalar(text, pa.large_string()))


@settings(deadline=None)
@given(value=st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_int64_scalars(value: int) -> None:
    assert int64_scalar(value).equals(pa.scalar(value, pa.int64()))


@pytest.mark.parametrize("values", [[], [0], [0, 5, 10, -3]])
def test_int64_arrays(values: list[int]) -> None:
    assert int64_array(values).equals(pa.array(values, pa.int64()))


def test_usable_in_kernels() -> None:
    column = pa.array(["a", None, "c"])
    joined = pc.binary_join_element_wise(text_scalar("k:"), column, text_scalar(""))
    assert joined.to_pylist() == ["k:a", None, "k:c"]
