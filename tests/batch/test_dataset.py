"""v1's Dataset over local paths: what a ParallelRunStep driver builds its inputs with."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.compat import install
from modelport.errors import UserError
from modelport.parallel_run.dataset import Dataset, step_inputs
from tests.batch.scripts import make_files


def test_file_and_tabular_datasets_become_step_inputs(tmp_path: Path) -> None:
    images = make_files(tmp_path / "images", ["a.png", "b.png"])
    files = Dataset.File.from_files(path=str(images / "*.png")).as_named_input("images")
    assert step_inputs([files]) == ([str(images / "*.png")], "files")
    assert files.dataset.to_path() == [str(images / "a.png"), str(images / "b.png")]  # type: ignore[attr-defined]
    (tmp_path / "t.csv").write_text("id,x\n1,2\n3,4\n")
    table = Dataset.Tabular.from_delimited_files(path=[(str(tmp_path), "t.csv")])
    assert step_inputs([table.as_named_input("t")]) == ([str(tmp_path / "t.csv")], "csv")
    assert table.to_pandas_dataframe()["x"].tolist() == [2, 4]


def test_v1_imports_resolve_to_the_local_dataset() -> None:
    install()
    from azureml.core import Dataset as V1Dataset  # type: ignore[import-not-found]
    from azureml.data import TabularDataset  # type: ignore[import-not-found]

    assert V1Dataset is Dataset
    assert TabularDataset.__name__ == "TabularDataset"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: Dataset.File.from_files(path=str(p / "none-*")), "not a file, a folder"),
        (lambda p: Dataset.File.from_files(path="https://x/y.png"), "only local paths"),
        (lambda p: Dataset.Tabular.from_delimited_files(path=str(p), separator=";"), "comma"),
        (lambda p: Dataset.get_by_name(None, "digits"), "no dataset registry"),
        (lambda p: Dataset.File.from_files(path=[(object(), "x")]), "no datastores"),
    ],
)
def test_what_is_not_supported_says_so(tmp_path: Path, call: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        call(tmp_path)  # type: ignore[operator]


def test_a_step_mixing_formats_is_refused(tmp_path: Path) -> None:
    make_files(tmp_path / "in", ["a.txt"])
    (tmp_path / "t.csv").write_text("id\n1\n")
    files = Dataset.File.from_files(path=str(tmp_path / "in"))
    table = Dataset.Tabular.from_delimited_files(path=str(tmp_path / "t.csv"))
    with pytest.raises(UserError, match="all files or one table format"):
        step_inputs([files, table])
