import pytest

from modelport.environments import all_curated, curated_names, get_curated, is_curated
from modelport.environments.lock import is_compat_satisfied
from modelport.errors import NotFound

V1_NAMES = [
    "AzureML-Minimal",
    "AzureML-minimal-ubuntu18.04-py37-cpu-inference",
    "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference",
    "AzureML-onnxruntime-1.6-ubuntu18.04-py37-cpu-inference",
]


@pytest.mark.parametrize("name", V1_NAMES)
def test_v1_curated_names_resolve(name):
    spec = get_curated(name)
    assert spec.name == name
    assert spec.version == "1"
    assert get_curated(name.upper()).name == name
    assert get_curated(name, "latest") == get_curated(name, "1")


def test_curated_package_sets():
    assert get_curated("AzureML-Minimal").requirements() == []
    sk = {r.split("==")[0] for r in get_curated(V1_NAMES[2]).requirements()}
    assert {"scikit-learn", "numpy", "joblib"} <= sk
    onnx = {r.split("==")[0] for r in get_curated(V1_NAMES[3]).requirements()}
    assert "onnxruntime" in onnx
    # every curated requirement is pinned, and none is an azureml-* package we would drop
    for spec in all_curated():
        for req in spec.requirements():
            assert "==" in req
            assert not is_compat_satisfied(req.split("==")[0])


def test_unknown_curated_name_or_version_is_not_found():
    assert not is_curated("AzureML-nope")
    assert is_curated("azureml-minimal")
    with pytest.raises(NotFound, match="AzureML-Minimal"):
        get_curated("AzureML-nope")
    with pytest.raises(NotFound, match="version 2"):
        get_curated("AzureML-Minimal", "2")
    assert curated_names() == sorted(curated_names(), key=str.lower)
