"""The OpenAPI document lists every status a route can answer, and its request schemas say what the
runtime accepts: non-empty lists, the signature's names, datatypes, ranks and row widths, numbers."""

from __future__ import annotations

import pytest

from compiler.runtime.errors import HTTPError
from compiler.runtime.loaders import rows_to_array
from compiler.runtime.openapi import ModelDoc, build
from compiler.runtime.settings import TensorSpec
from compiler.runtime.tensors import decode_input

FEATURES = TensorSpec("features", "float32", (-1, 4))
IRIS = ModelDoc("iris", "3", (FEATURES,))


def _statuses(doc: dict, path: str, method: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"])


def test_every_status_of_each_route_is_documented_with_auth():
    doc = build("scorer", [IRIS], auth=True)
    body = {"200", "400", "401", "404", "413", "422", "503", "504"}
    assert _statuses(doc, "/score", "post") == body
    assert _statuses(doc, "/v2/models/{model}/infer", "post") == body
    assert _statuses(doc, "/v2/models/{model}/versions/{version}/infer", "post") == body
    for path in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        assert _statuses(doc, path, "get") == {"200", "401", "404"}
    assert _statuses(doc, "/v2/models/{model}/ready", "get") == {"200", "401", "404", "503"}
    assert _statuses(doc, "/v2", "get") == {"200", "401"}
    assert _statuses(doc, "/metrics", "get") == {"200", "401", "404"}  # 404: through an endpoint
    assert _statuses(doc, "/v2/health/ready", "get") == {"200", "503"}  # open: no 401
    assert doc["paths"]["/v2/models/{model}/versions/{version}"]["get"]["parameters"][1]["schema"]["enum"] == ["3"]


def test_without_auth_no_401_and_with_tokens_a_403():
    assert "401" not in _statuses(build("scorer", [IRIS], auth=False), "/score", "post")
    assert "403" in _statuses(build("scorer", [IRIS], auth=True, token=True), "/score", "post")


def test_request_schemas_follow_the_signature():
    doc = build("scorer", [IRIS], auth=True)
    infer = doc["paths"]["/v2/models/{model}/infer"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    inputs = infer["properties"]["inputs"]
    assert inputs["minItems"] == 1 and inputs["maxItems"] == 1
    tensor = inputs["items"]["properties"]
    assert tensor["name"]["enum"] == ["features"] and tensor["datatype"]["enum"] == ["FP32"]
    assert tensor["shape"]["minItems"] == tensor["shape"]["maxItems"] == 2
    assert tensor["data"]["items"]["type"] == "number" and tensor["data"]["items"]["maximum"] < 1e39
    score = doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    rows = score["properties"]["data"]
    assert rows["minItems"] == 1 and rows["items"]["minItems"] == rows["items"]["maxItems"] == 4


def test_without_a_shared_signature_lists_are_still_non_empty():
    doc = build("scorer", [IRIS, ModelDoc("other", "1", None, scripted=True)], auth=False)
    infer = doc["paths"]["/v2/models/{model}/infer"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert infer["properties"]["inputs"]["minItems"] == 1 and "maxItems" not in infer["properties"]["inputs"]
    score = doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert score["properties"]["data"] == {"type": "array", "minItems": 1}


@pytest.mark.parametrize("row", [["1.5", 2, 3, 4], [True, 2, 3, 4], [None, 2, 3, 4]])
def test_rows_of_numbers_only(row):
    with pytest.raises(HTTPError) as err:
        rows_to_array([row], FEATURES, None)
    assert err.value.status == 422
    assert rows_to_array([[1, 2.5, 3, 4]], FEATURES, None).shape == (1, 4)


@pytest.mark.parametrize(
    "item",
    [
        {"name": "features", "datatype": {}, "shape": [1, 4], "data": [1, 2, 3, 4]},  # was a 500
        {"name": "features", "datatype": "FP32", "shape": [1, 4], "data": ["1", 2, 3, 4]},
        {"name": "features", "datatype": "FP32", "shape": [1, 4], "data": [False, 2, 3, 4]},
        {"name": "n", "datatype": "INT64", "shape": [1], "data": [1.5]},
    ],
)
def test_infer_tensors_are_checked_as_the_schema_says(item):
    with pytest.raises(HTTPError) as err:
        decode_input(item, None, None)
    assert err.value.status == 422


def test_integral_floats_fill_an_integer_tensor():
    _, arr = decode_input({"name": "n", "datatype": "INT64", "shape": [2], "data": [1, 2.0]}, None, None)
    assert arr.tolist() == [1, 2]
