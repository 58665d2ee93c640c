import pytest

from modelport.environments import from_conda_specification
from modelport.environments.conda import split_conda_spec, to_pypi
from modelport.errors import UserError

CONDA_YAML = """\
name: project_environment
channels:
  - conda-forge
  - pytorch
dependencies:
  - python=3.7.9
  - pip=20.2.4
  - scikit-learn=0.24.1
  - numpy>=1.19
  - pandas
  - scipy==1.5.2
  - pytorch::pytorch=1.7.1=py3.7_cpu_0
  - py-xgboost=1.3
  - tensorflow
  - onnxruntime
  - cpuonly
  - pip:
      - azureml-defaults>=1.0.45
      - inference-schema[numpy-support]
"""


def test_conda_specification_maps_conda_packages_to_pypi(tmp_path):
    f = tmp_path / "env.yml"
    f.write_text(CONDA_YAML)
    spec = from_conda_specification("sk", f)
    assert spec.name == "sk"
    assert spec.python_version == "3.7.9"
    assert spec.channels == ("conda-forge", "pytorch")
    assert spec.pip_packages == ("azureml-defaults>=1.0.45", "inference-schema[numpy-support]")
    assert spec.requirements() == [
        "scikit-learn==0.24.1",
        "numpy>=1.19",
        "pandas",
        "scipy==1.5.2",
        "torch==1.7.1",
        "xgboost==1.3.*",
        "tensorflow",
        "onnxruntime",
        "azureml-defaults>=1.0.45",
        "inference-schema[numpy-support]",
    ]


def test_unknown_conda_package_is_an_error_naming_it(tmp_path):
    f = tmp_path / "env.yml"
    f.write_text("dependencies:\n  - numpy\n  - r-base=4.0\n  - pip:\n    - six\n")
    with pytest.raises(UserError, match=r"'r-base=4\.0'.*no known PyPI equivalent.*pip:"):
        from_conda_specification("e", f)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("conda-forge::numpy=1.19", ("numpy", "conda-forge", "=1.19")),
        ("pytorch=1.7.1=py3.7_cpu_0", ("pytorch", "", "=1.7.1")),
        ("numpy 1.19.5 py37h", ("numpy", "", "1.19.5")),
        ("Pandas>=1.0", ("pandas", "", ">=1.0")),
    ],
)
def test_conda_spec_syntax(text, expected):
    assert split_conda_spec(text) == expected


def test_pip_and_python_themselves_install_nothing():
    assert to_pypi(["pip", "python=3.8", "wheel", "mkl"]) == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("dependencies: [numpy\n", "not valid YAML"),
        ("- just a list\n", "mapping"),
        ("dependencies:\n  - python=three\n", "python version pin"),
        ("dependencies:\n  - {npm: [x]}\n", "Unsupported entry 'npm'"),
    ],
)
def test_bad_conda_files_are_user_errors(tmp_path, content, match):
    f = tmp_path / "env.yml"
    f.write_text(content)
    with pytest.raises(UserError, match=match):
        from_conda_specification("e", f)


def test_missing_conda_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="Cannot read conda specification"):
        from_conda_specification("e", tmp_path / "nope.yml")


@pytest.mark.parametrize(
    ("dep", "pin"),
    [
        ("python=3.6.2", "3.6.2"),
        ("python 3.8", "3.8"),
        ("python==3.7.*", "3.7"),
        ("python>=3.8,<3.12", ">=3.8,<3.12"),
        ("python", None),
    ],
)
def test_python_pins_are_read_and_written_back(tmp_path, dep, pin):
    from modelport.environments import from_azure_json, to_azure_json

    f = tmp_path / "env.yml"
    f.write_text(f"dependencies:\n  - {dep}\n")
    spec = from_conda_specification("e", f)
    assert spec.python_version == pin
    again = from_azure_json(to_azure_json(spec))
    assert again.python_version == pin
