"""Open Inference Protocol conformance: the standard tritonclient.http client works unchanged, over
HTTP and over HTTPS (the runtime serving a test CA's certificate; the client with ssl options)."""

import ssl

import numpy as np
import pytest
import tritonclient.http as triton

from runtime_support import KEY


@pytest.fixture(scope="module", params=["http", "https"])
def client(request, shared_server):
    if request.param == "http":
        return triton.InferenceServerClient(shared_server.url.removeprefix("http://"))
    server, ca = request.getfixturevalue("shared_tls_server")
    assert server.url.startswith("https://")
    return triton.InferenceServerClient(
        server.url.removeprefix("https://"),
        ssl=True,
        ssl_context_factory=lambda: ssl.create_default_context(cafile=str(ca)),
    )


def test_https_client_refuses_an_untrusted_server(shared_tls_server):
    """The HTTPS calls above verify the server: a client without the CA does not connect."""
    server, _ = shared_tls_server
    untrusted = triton.InferenceServerClient(server.url.removeprefix("https://"), ssl=True)
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        untrusted.is_server_live()


def auth():
    """A fresh dict per call: tritonclient writes Inference-Header-Content-Length into the dict it is given."""
    return {"Authorization": f"Bearer {KEY}"}


def test_server_health_and_metadata(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    meta = client.get_server_metadata(headers=auth())
    assert meta["name"] == "modelctl-runtime"
    assert "binary_tensor_data" in meta["extensions"]


@pytest.mark.parametrize("name,version", [("iris-sk", "1"), ("iris-onnx", "1"), ("iris-mlflow", "2")])
def test_model_ready_and_metadata(client, name, version):
    assert client.is_model_ready(name, headers=auth())
    assert client.is_model_ready(name, version, headers=auth())
    assert not client.is_model_ready(name, "999", headers=auth())
    meta = client.get_model_metadata(name, headers=auth())
    assert meta["name"] == name and meta["versions"] == [version]
    assert meta["inputs"][0]["shape"] == [-1, 4]


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize(
    "name,input_name,dtype,output",
    [
        ("iris-sk", "features", "FP64", "label"),
        ("iris-onnx", "features", "FP32", "label"),
        ("iris-mlflow", "input", "FP64", "predict"),
    ],
)
def test_infer_gives_the_models_predictions(client, iris, name, input_name, dtype, output, binary):
    X, _ = iris
    rows = X[::7]
    expected = _reference_predictions(rows)
    inp = triton.InferInput(input_name, list(rows.shape), dtype)
    inp.set_data_from_numpy(rows.astype(np.float32 if dtype == "FP32" else np.float64), binary_data=binary)
    out = triton.InferRequestedOutput(output, binary_data=binary)
    result = client.infer(name, [inp], outputs=[out], headers=auth(), request_id="req-1")
    got = result.as_numpy(output)
    assert got.shape == (len(rows),)
    np.testing.assert_array_equal(got, expected)
    assert result.get_response()["model_name"] == name


def test_infer_with_explicit_version_and_all_outputs(client, iris):
    X, _ = iris
    inp = triton.InferInput("features", [2, 4], "FP32")
    inp.set_data_from_numpy(X[:2].astype(np.float32))
    result = client.infer("iris-onnx", [inp], model_version="1", headers=auth())
    probs = result.as_numpy("probabilities")
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_wrong_dtype_is_rejected_through_the_client(client, iris):
    inp = triton.InferInput("features", [1, 4], "FP64")
    inp.set_data_from_numpy(iris[0][:1].astype(np.float64))
    with pytest.raises(triton.InferenceServerException) as info:
        client.infer("iris-onnx", [inp], headers=auth())
    assert "features" in str(info.value) and "FP32" in str(info.value)


def _reference_predictions(rows):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=1000).fit(X, y).predict(rows)
