"""v1's ``Dataset`` as batch driver code uses it, over local paths: ``Dataset.File.from_files``,
``Dataset.Tabular.from_delimited_files`` / ``from_parquet_files`` / ``from_json_lines_files`` and
``.as_named_input(name)``, so a ParallelRunStep driver runs with import changes only.

A path is a file, a folder or a glob on this machine (or on a file system every Ray node sees),
or v1's ``(datastore, "relative/path")`` with a folder (a ``str``/``PathLike``) or an object with
a local ``path``/``root`` as the datastore. There are no datastores or registered datasets here:
``Dataset.get_by_name`` says so instead of guessing. ``to_path()`` and ``to_pandas_dataframe()``
read the same files the batch run reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from modelport.errors import UserError
from modelport.parallel_run.plan import list_inputs

PathArg = Any  # str | PathLike | (datastore, str) | a list of these


def _paths(path: PathArg) -> list[str]:
    items = path if isinstance(path, list) else [path]
    out: list[str] = []
    for item in items:
        if isinstance(item, tuple):
            if len(item) != 2:
                raise UserError(f"a dataset path tuple is (datastore, path), not {item!r}")
            store, rel = item
            root = store if isinstance(store, str | os.PathLike) else None
            root = root or getattr(store, "path", None) or getattr(store, "root", None)
            if root is None:
                raise UserError(
                    "modelport has no datastores: give the dataset a local path, or a folder "
                    "as the datastore in (datastore, path)"
                )
            out.append(os.path.join(os.fspath(root), str(rel)))
        elif isinstance(item, str | os.PathLike):
            if "://" in os.fspath(item):
                raise UserError(f"dataset path {item!r}: only local paths (no URLs) are read")
            out.append(os.fspath(item))
        else:
            raise UserError(f"a dataset path is a str, a PathLike or (datastore, path): {item!r}")
    if not out:
        raise UserError("a dataset needs at least one path")
    return out


class _Dataset:
    input_format = "files"

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        self.name: str | None = None

    def as_named_input(self, name: str) -> DatasetConsumptionConfig:
        return DatasetConsumptionConfig(name, self)

    def files(self) -> list[str]:
        """Every file the dataset names, sorted (what the batch run reads)."""
        return list_inputs(self.paths)

    def register(self, workspace: Any, name: str, **kwargs: Any) -> _Dataset:
        raise UserError("modelport has no dataset registry: keep the paths in the driver code")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.paths!r})"


class FileDataset(_Dataset):
    """Files: ``run(mini_batch)`` gets their paths."""

    def to_path(self) -> list[str]:
        return self.files()

    def as_mount(self, path_on_compute: str | None = None) -> FileDataset:
        return self  # local files are read in place

    as_download = as_mount


class TabularDataset(_Dataset):
    """One table over CSV, Parquet or JSON Lines files: ``run(mini_batch)`` gets DataFrames."""

    def __init__(self, paths: list[str], input_format: str) -> None:
        super().__init__(paths)
        self.input_format = input_format

    def to_pandas_dataframe(self) -> Any:
        import pandas as pd

        read = {"csv": pd.read_csv, "parquet": pd.read_parquet}.get(self.input_format)
        frames = [read(p) if read else pd.read_json(p, lines=True) for p in self.files()]
        return pd.concat(frames, ignore_index=True)


class DatasetConsumptionConfig:
    """``dataset.as_named_input(name)``: a step input; the name is v1's, kept for the record."""

    def __init__(self, name: str, dataset: _Dataset) -> None:
        if not name or not name.replace("_", "a").isalnum():
            raise UserError(f"input name {name!r}: letters, digits and '_' only")
        self.name = name
        self.dataset = dataset

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self

    as_download = as_mount


class _FileFactory:
    @staticmethod
    def from_files(path: PathArg, validate: bool = True, **kwargs: Any) -> FileDataset:
        ds = FileDataset(_paths(path))
        if validate:
            ds.files()  # fails now, as v1 did, when nothing matches
        return ds


class _TabularFactory:
    @staticmethod
    def from_delimited_files(
        path: PathArg,
        validate: bool = True,
        separator: str = ",",
        header: Any = True,
        **kwargs: Any,
    ) -> TabularDataset:
        if separator != ",":
            raise UserError(f"only comma-separated files are read, not separator={separator!r}")
        if header not in (True, "ALL_FILES_HAVE_SAME_HEADERS", "all_files_same_headers"):
            raise UserError("every delimited file needs its header line (header=True)")
        return _tabular(path, "csv", validate)

    @staticmethod
    def from_parquet_files(path: PathArg, validate: bool = True, **kwargs: Any) -> TabularDataset:
        return _tabular(path, "parquet", validate)

    @staticmethod
    def from_json_lines_files(
        path: PathArg, validate: bool = True, **kwargs: Any
    ) -> TabularDataset:
        return _tabular(path, "jsonl", validate)


def _tabular(path: PathArg, kind: str, validate: bool) -> TabularDataset:
    ds = TabularDataset(_paths(path), kind)
    if validate:
        ds.files()
    return ds


class Dataset:
    """v1's entry point: ``Dataset.File.from_files(...)``, ``Dataset.Tabular.from_*(...)``."""

    File = _FileFactory
    Tabular = _TabularFactory

    @staticmethod
    def get_by_name(workspace: Any, name: str, version: Any = "latest") -> _Dataset:
        raise UserError(
            f"modelport has no dataset registry ({name!r}): build the dataset from its paths "
            "with Dataset.File.from_files or Dataset.Tabular.from_*"
        )


def step_inputs(inputs: Sequence[Any]) -> tuple[list[str], str | None]:
    """A step's inputs as paths and their format (None: guessed from the suffixes)."""
    paths: list[str] = []
    formats: set[str] = set()
    for item in inputs:
        dataset = item.dataset if isinstance(item, DatasetConsumptionConfig) else item
        if isinstance(dataset, _Dataset):
            paths.extend(dataset.paths)
            formats.add(dataset.input_format)
        elif isinstance(dataset, str | os.PathLike):
            paths.append(os.fspath(dataset))
        else:
            raise UserError(f"unsupported step input {type(item).__name__}: a Dataset or a path")
    if len(formats) > 1:
        raise UserError(f"a step's inputs must be all files or one table format: {sorted(formats)}")
    return paths, formats.pop() if formats else None
