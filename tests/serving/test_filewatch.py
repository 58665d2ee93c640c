"""serving/filewatch.py on real files: every kind of change the auth file can go through is seen by
the very next look, changes to other files in its directory are not reported, and where inotify
cannot follow the path (a symbolic link, as in a Kubernetes secret volume) every look says "maybe"."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modelport.serving.filewatch import FileWatch


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _append(path: Path, text: str) -> None:
    with path.open("a") as f:
        f.write(text)


def _hard_link_write(path: Path, text: str) -> None:
    other = path.parent.parent / "elsewhere.json"
    other.unlink(missing_ok=True)
    os.link(path, other)
    with other.open("a") as f:  # the same inode, written through another directory
        f.write(text)


CHANGES: dict[str, Callable[[Path], None]] = {
    "renamed over": lambda p: _replace(p, '{"mode": "none"}'),
    "rewritten in place": lambda p: p.write_text('{"mode": "key"}'),
    "appended to": lambda p: _append(p, " "),
    "chmod": lambda p: p.chmod(0o600),
    "touched": lambda p: os.utime(p, (1, 1)),
    "deleted": lambda p: p.unlink(),
    "written through a hard link": lambda p: _hard_link_write(p, " "),
}


@pytest.fixture
def watched(tmp_path: Path) -> tuple[Path, FileWatch]:
    d = tmp_path / "svc"
    d.mkdir()
    path = d / "auth.json"
    path.write_text('{"mode": "none"}')
    watch = FileWatch(str(path))
    assert watch.inotify, "inotify is available on this Linux host"
    assert watch.changed() is False
    return path, watch


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_kind_of_change_is_seen_by_the_next_look(
    watched: tuple[Path, FileWatch], change: str
) -> None:
    path, watch = watched
    CHANGES[change](path)
    assert watch.changed() is True
    assert watch.changed() is False  # drained: nothing new since


def test_a_replacement_is_followed_by_its_own_writes(watched: tuple[Path, FileWatch]) -> None:
    path, watch = watched
    for n in range(3):  # each rename brings a new inode; the caller follows it after reading
        _replace(path, f'{{"n": {n}}}')
        assert watch.changed() is True
        watch.follow()
        assert watch.changed() is False
        _hard_link_write(path, " ")
        assert watch.changed() is True


def test_other_files_in_the_directory_are_not_reported(watched: tuple[Path, FileWatch]) -> None:
    path, watch = watched
    (path.parent / "deploy.log").write_text("line\n")
    _replace(path.parent / "other.json", "{}")
    (path.parent / "deploy.log").unlink()
    assert watch.changed() is False


def test_a_deleted_file_coming_back_is_seen(watched: tuple[Path, FileWatch]) -> None:
    path, watch = watched
    path.unlink()
    assert watch.changed() is True
    watch.follow()  # nothing to follow: the directory's events still name it
    path.write_text("{}")
    assert watch.changed() is True


def test_the_directory_going_away_falls_back_to_looking_every_time(
    watched: tuple[Path, FileWatch],
) -> None:
    path, watch = watched
    path.unlink()
    path.parent.rmdir()
    assert watch.changed() is True
    assert watch.changed() is True and not watch.inotify


def test_a_path_through_a_symbolic_link_is_always_maybe(tmp_path: Path) -> None:
    data = tmp_path / "..2026_12_05"
    data.mkdir()
    (data / "auth.json").write_text("{}")
    (tmp_path / "..data").symlink_to(data.name)
    (tmp_path / "auth.json").symlink_to("..data/auth.json")  # a Kubernetes secret volume's shape
    watch = FileWatch(str(tmp_path / "auth.json"))
    assert not watch.inotify
    assert watch.changed() is True and watch.changed() is True


def test_a_relative_path_is_followed_after_the_process_changes_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "svc"
    d.mkdir()
    (d / "auth.json").write_text("{}")
    monkeypatch.chdir(d)
    watch = FileWatch("auth.json")
    monkeypatch.chdir(tmp_path)  # as the server does before init(): to the app root
    _replace(d / "auth.json", '{"n": 1}')
    assert watch.changed() is True
    watch.follow()
    _hard_link_write(d / "auth.json", " ")
    assert watch.changed() is True


def test_a_dropped_watch_gives_its_inotify_instance_back(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text("{}")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(200):  # more than the default 128 instances a user may hold
        watch = FileWatch(str(path))
        assert watch.inotify
        del watch
    assert len(os.listdir("/proc/self/fd")) <= before + 1
