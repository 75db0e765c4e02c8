"""V2 tensors against a release's signature (`core.inference`): both request forms, each
kind of problem as one line naming the input or field, outputs, and the tolerance the
server and the promotion proof compare outputs with."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.core.inference import (
    DEFAULT_MAX_ROWS,
    RequestProblem,
    datatype_of,
    decode_inputs,
    encode_outputs,
    request_body,
    same_outputs,
    tensors_from,
)
from mlops_ci.core.signature import Feature, Signature

MIXED = Signature(
    (
        Feature("age", "integer"),
        Feature("income", "float"),
        Feature("visits", "integer", nullable=True),
        Feature("member", "boolean"),
        Feature("plan", "category", ("basic", "gold")),
        Feature("note", "string", nullable=True),
    )
)
NUMERIC = Signature((Feature("a", "float"), Feature("b", "float"), Feature("c", "integer")))

MIXED_COLUMNS: dict[str, list[Any]] = {
    "age": [30, 41],
    "income": [1200.5, 980.0],
    "visits": [None, 3],
    "member": [True, False],
    "plan": ["gold", "basic"],
    "note": ["first", None],
}


def problem(inputs: list[dict[str, Any]], signature: Signature = MIXED, **options: Any) -> str:
    with pytest.raises(RequestProblem) as info:
        decode_inputs(tensors_from({"inputs": inputs}), signature, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


def columns_form(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    """The mixed request in the columns form, with some inputs' fields replaced."""
    inputs = request_body(MIXED_COLUMNS, MIXED)["inputs"]
    return [{**i, **changes.get(i["name"], {})} for i in inputs]


# --- the two request forms ---------------------------------------------------------------


def test_the_columns_form_gives_plain_columns_in_the_signatures_order() -> None:
    shuffled = list(reversed(request_body(MIXED_COLUMNS, MIXED)["inputs"]))
    columns = decode_inputs(tensors_from({"inputs": shuffled}), MIXED)
    assert list(columns) == MIXED.names
    assert columns == {**MIXED_COLUMNS, "income": [1200.5, 980.0]}


def test_a_column_may_be_rows_by_one_and_nested() -> None:
    inputs = columns_form(income={"shape": [2, 1], "data": [[1200.5], [980]]})
    columns = decode_inputs(tensors_from({"inputs": inputs}), MIXED)
    assert columns["income"] == [1200.5, 980.0]
    assert all(isinstance(v, float) for v in columns["income"])  # an int sent for a float


def test_the_matrix_form_is_row_major_in_the_signatures_order() -> None:
    body = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64",
                        "data": [1.5, 2, 3, 4.5, 5, 6]}]}  # fmt: skip
    assert decode_inputs(tensors_from(body), NUMERIC) == {
        "a": [1.5, 4.5],
        "b": [2.0, 5.0],
        "c": [3, 6],
    }
    nested = {"inputs": [{**body["inputs"][0], "data": [[1.5, 2, 3], [4.5, 5, 6]]}]}
    assert decode_inputs(tensors_from(nested), NUMERIC) == decode_inputs(
        tensors_from(body), NUMERIC
    )


def test_a_single_feature_model_takes_its_one_column() -> None:
    one = Signature((Feature("a", "float"),))
    body = {"inputs": [{"name": "a", "shape": [3], "datatype": "FP32", "data": [1, 2.5, 3]}]}
    assert decode_inputs(tensors_from(body), one) == {"a": [1.0, 2.5, 3.0]}


def test_integers_may_come_as_whole_floats() -> None:
    inputs = columns_form(age={"datatype": "FP64", "data": [30.0, 41.0]})
    assert decode_inputs(tensors_from({"inputs": inputs}), MIXED)["age"] == [30.0, 41.0]


# --- every kind of problem, one line naming what is wrong -------------------------------


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ([], "inputs: expected at least one input tensor"),
        (columns_form(age={"datatype": "FLOAT"}), "input 'age': datatype 'FLOAT' is not a V2"),
        (
            [*columns_form(), {"name": "zip", "shape": [2], "datatype": "INT64", "data": [1, 2]}],
            "input 'zip': not a feature of the model (expected age, income, visits",
        ),
        ([*columns_form(), columns_form()[0]], "input 'age': given twice"),
        (columns_form()[1:], "field 'age': missing (one input per feature)"),
        (columns_form(age={"shape": [2, 2]}), "input 'age': shape [2, 2]: expected [rows] or"),
        (columns_form(age={"shape": [2, 1, 1]}), "input 'age': shape [2, 1, 1]: expected [rows]"),
        (columns_form(age={"shape": []}), "input 'age': shape []: expected non-negative sizes"),
        (columns_form(age={"shape": [-1]}), "input 'age': shape [-1]: expected non-negative"),
        (columns_form(age={"shape": [3]}), "input 'age': shape [3] says 3 values, data has 2"),
        (
            columns_form(income={"datatype": "BYTES", "data": ["1", "2"]}),
            "input 'income': datatype BYTES: feature 'income' is float, expected a numeric",
        ),
        (
            columns_form(member={"datatype": "INT64", "data": [1, 0]}),
            "input 'member': datatype INT64: feature 'member' is boolean, expected BOOL",
        ),
        (
            columns_form(plan={"datatype": "FP64", "data": [1.0, 2.0]}),
            "input 'plan': datatype FP64: feature 'plan' is category, expected BYTES",
        ),
        (
            columns_form(income={"data": [1.0, None]}),
            "row 1, field 'income': expected a value, got nothing",
        ),
        (
            columns_form(income={"data": ["NaN", 1.0]}),
            "row 0, field 'income': expected a finite number, got 'NaN'",
        ),
        (
            columns_form(income={"data": [1.0, float("inf")]}),
            "row 1, field 'income': expected a finite number, got inf",
        ),
        (columns_form(age={"data": [30, 1.5]}), "row 1, field 'age': expected an integer, got 1.5"),
        (
            columns_form(age={"data": [True, 2]}),
            "row 0, field 'age': expected an integer, got True",
        ),
        (
            columns_form(plan={"data": ["gold", "platinum"]}),
            "row 1, field 'plan': expected one of basic, gold, got 'platinum'",
        ),
        (
            columns_form(member={"data": [True, 1]}),
            "row 1, field 'member': expected true or false, got 1",
        ),
        (
            columns_form(income={"shape": [3], "data": [1.0, 2.0, 3.0]}),
            "inputs have different numbers of rows (age: 2, income: 3",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_each_problem_names_the_input_or_field(inputs: list[dict[str, Any]], expected: str) -> None:
    assert expected in problem(inputs)


def test_too_many_rows_is_refused_before_the_values_are_read() -> None:
    inputs = columns_form(age={"shape": [11], "data": ["never read"] * 11})
    assert problem(inputs, max_rows=10) == "input 'age': 11 rows: at most 10 per request"
    matrix = [{"name": "x", "shape": [11, 3], "datatype": "FP64", "data": []}]
    assert problem(matrix, NUMERIC, max_rows=10) == "input 'x': 11 rows: at most 10 per request"
    assert DEFAULT_MAX_ROWS >= 10_000  # a real batch fits the default


@pytest.mark.parametrize(
    ("tensor", "expected"),
    [
        ({"shape": [2, 4]}, "input 'x': shape [2, 4]: expected [rows, 3] (the model's 3 features"),
        ({"shape": [1, 2, 3]}, "input 'x': shape [1, 2, 3]: expected [rows, 3]"),
        ({"shape": [6]}, "input 'x': shape [6]: expected [rows, 3]"),
        ({"shape": [3, 3]}, "input 'x': shape [3, 3] says 9 values, data has 6"),
        ({"datatype": "BYTES"}, "input 'x': datatype BYTES: expected a numeric datatype"),
        ({"data": [1, 2, 3, 4, None, 6]}, "row 1, field 'b': expected a value, got nothing"),
        ({"data": [1, 2, 3.5, 4, 5, 6]}, "row 0, field 'c': expected an integer, got 3.5"),
        ({"data": [1, 2, 3, "x", 5, 6]}, "row 1, field 'a': expected a finite number, got 'x'"),
    ],
)
def test_each_problem_of_the_matrix_form_names_the_input_or_field(
    tensor: dict[str, Any], expected: str
) -> None:
    base = {"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}
    assert expected in problem([{**base, **tensor}], NUMERIC)


def test_the_matrix_form_is_only_for_numeric_models() -> None:
    inputs = [{"name": "x", "shape": [1, 6], "datatype": "FP64", "data": [1] * 6}]
    assert problem(inputs).startswith("input 'x': not a feature of the model")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "inputs: expected a list of input tensors"),
        ({"inputs": {"name": "a"}}, "inputs: expected a list of input tensors"),
        ({"inputs": ["a"]}, "inputs[0]: expected an object"),
        ({"inputs": [{"shape": [1]}]}, "inputs[0].name: expected a string"),
        ({"inputs": [{"name": "a", "shape": "1"}]}, "input 'a': shape: expected a list of int"),
        ({"inputs": [{"name": "a", "shape": [1.5]}]}, "input 'a': shape: expected a list of int"),
        ({"inputs": [{"name": "a", "shape": [1], "datatype": 3}]}, "input 'a': datatype: exp"),
        (
            {"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": 1}]},
            "input 'a': data: expected a list",
        ),
    ],
)
def test_a_body_that_is_not_a_request_names_the_part(body: dict[str, Any], expected: str) -> None:
    with pytest.raises(RequestProblem) as info:
        tensors_from(body)
    assert str(info.value).startswith(expected)


# --- outputs -----------------------------------------------------------------------------


def test_outputs_are_labels_and_class_probabilities() -> None:
    outputs = encode_outputs([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    assert outputs == [
        {"name": "predict", "shape": [3], "datatype": "INT64", "data": [0, 1, 1]},
        {"name": "predict_proba", "shape": [3, 2], "datatype": "FP64",
         "data": [0.9, 0.1, 0.2, 0.8, 0.4, 0.6]},
    ]  # fmt: skip


def test_outputs_of_each_label_type() -> None:
    assert encode_outputs([1.5, 2], None) == [
        {"name": "predict", "shape": [2], "datatype": "FP64", "data": [1.5, 2]}
    ]
    assert encode_outputs(["cat", 3], None)[0]["datatype"] == "BYTES"
    assert encode_outputs(["cat", 3], None)[0]["data"] == ["cat", "3"]
    assert encode_outputs([True, False], None)[0]["datatype"] == "BOOL"
    assert [datatype_of(v) for v in ([1], [1.0], [True], ["a"])] == [
        "INT64", "FP64", "BOOL", "BYTES"
    ]  # fmt: skip


def test_probabilities_are_floats_even_from_integers() -> None:
    proba = encode_outputs([1], [[0, 1]])[1]
    assert proba["data"] == [0.0, 1.0]
    assert all(isinstance(p, float) for p in proba["data"])


# --- comparing outputs -------------------------------------------------------------------


def test_same_outputs_within_an_absolute_tolerance_below_one() -> None:
    assert same_outputs([0.5, 0.25], [0.5 + 5e-10, 0.25]) is None
    assert same_outputs([0.5, 0.25], [0.5, 0.25 + 2e-9]) == (
        "[1] expected 0.25, got 0.250000002 (difference 2e-09)"
    )


def test_same_outputs_within_a_relative_tolerance_beyond_one() -> None:
    assert same_outputs(1e6, 1e6 + 5e-4) is None  # 5e-10 relative
    assert same_outputs(1e6, 1e6 + 2e-3) is not None  # 2e-9 relative
    assert same_outputs(-1e6, -1e6 - 5e-4) is None
    assert same_outputs(1.0, 1.0 + 2e-9) is not None  # at one it is absolute
    assert same_outputs(100.0, 101.0, tolerance=0.02) is None


def test_same_outputs_nan_equals_only_nan() -> None:
    nan = float("nan")
    assert same_outputs([nan, 1.0], [nan, 1.0]) is None
    assert same_outputs(nan, 0.0) is not None
    assert same_outputs(0.0, nan) is not None


def test_same_outputs_infinities() -> None:
    assert same_outputs(math.inf, math.inf) is None
    assert same_outputs(-math.inf, -math.inf) is None
    assert same_outputs(math.inf, -math.inf) is not None
    assert same_outputs(math.inf, 1e308) is not None


def test_same_outputs_labels_exactly_and_shapes() -> None:
    assert same_outputs(["a", "b"], ["a", "b"]) is None
    assert same_outputs(["a", "b"], ["a", "c"]) == "[1] expected 'b', got 'c'"
    assert same_outputs([1, 0], ["1", "0"]) == "[0] expected 1, got '1'"
    assert same_outputs([1, 2], [1, 2, 3]) == "expected 2 values, got 3"
    assert same_outputs([[0.1, 0.9]], [[0.1, 0.9]]) is None
    assert same_outputs([[0.1, 0.9]], [[0.1, 0.8]]) == (
        "[0] [1] expected 0.9, got 0.8 (difference 0.1)"
    )
    assert same_outputs([1], 1) == "expected [1], got 1"
    assert same_outputs(True, False) == "expected True, got False"


# --- a client's body round-trips -------------------------------------------------------


def test_request_body_round_trips_through_decode_inputs() -> None:
    body = request_body(MIXED_COLUMNS, MIXED)
    kinds = {i["name"]: i["datatype"] for i in body["inputs"]}
    assert kinds == {"age": "INT64", "income": "FP64", "visits": "FP64", "member": "BOOL",
                     "plan": "BYTES", "note": "BYTES"}  # fmt: skip
    assert decode_inputs(tensors_from(body), MIXED) == MIXED_COLUMNS


def _value_of(feature: Feature) -> st.SearchStrategy[Any]:
    strategies: dict[str, st.SearchStrategy[Any]] = {
        "integer": st.integers(-(2**53), 2**53),
        "float": st.floats(allow_nan=False, allow_infinity=False),
        "boolean": st.booleans(),
        "category": st.sampled_from(feature.categories or ("only",)),
        "string": st.text(max_size=12),
    }
    value = strategies[feature.dtype]
    return st.one_of(st.none(), value) if feature.nullable else value


@st.composite
def signature_and_columns(draw: st.DrawFn) -> tuple[Signature, dict[str, list[Any]]]:
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
                          min_size=1, max_size=6, unique=True))  # fmt: skip
    features = []
    for name in names:
        dtype = draw(st.sampled_from(["integer", "float", "boolean", "category", "string"]))
        categories = tuple(sorted(draw(st.sets(st.text(min_size=1, max_size=5), min_size=1,
                                               max_size=4))))  # fmt: skip
        features.append(Feature(name, dtype, categories if dtype == "category" else (),
                                draw(st.booleans())))  # fmt: skip
    signature = Signature(tuple(features))
    rows = draw(st.integers(0, 8))
    columns = {f.name: draw(st.lists(_value_of(f), min_size=rows, max_size=rows)) for f in features}
    return signature, columns


@settings(max_examples=200, deadline=None)
@given(signature_and_columns())
def test_any_valid_columns_round_trip(case: tuple[Signature, dict[str, list[Any]]]) -> None:
    signature, columns = case
    decoded = decode_inputs(tensors_from(request_body(columns, signature)), signature)
    assert list(decoded) == signature.names
    assert same_outputs([columns[n] for n in signature.names], list(decoded.values()),
                        tolerance=0.0) is None  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 6),
    st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=0, max_size=36),
)
def test_the_matrix_form_equals_the_columns_form(width: int, values: list[float]) -> None:
    signature = Signature(tuple(Feature(f"f{j}", "float") for j in range(width)))
    rows = len(values) // width
    values = values[: rows * width]
    matrix = {"inputs": [{"name": "x", "shape": [rows, width], "datatype": "FP64",
                          "data": values}]}  # fmt: skip
    columns = {f"f{j}": values[j::width] for j in range(width)}
    assert decode_inputs(tensors_from(matrix), signature) == columns
    assert decode_inputs(tensors_from(request_body(columns, signature)), signature) == columns
