"""Real builds with uv (marked envbuild). Kept few and tiny: one small pure-Python package."""

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import modelport
from modelport.environments import EnvironmentBuildError, EnvironmentSpec, ensure_built
from modelport.environments.build import MARKER

pytestmark = pytest.mark.envbuild

TINY = EnvironmentSpec(
    name="tiny",
    pip_packages=("six==1.16.0", "azureml-defaults>=1.0.45", "azureml-monitoring"),
    python_version="3.6.2",  # older than anything here: the closest interpreter is used
    conda_packages=("pip=20.2.4", "six=1.16.0"),
    docker={
        "enabled": False,
        "baseImage": "mcr.microsoft.com/azureml/base:intelmpi2018.3-ubuntu16.04",
    },
)


class Log(list):
    def __call__(self, line: str) -> None:
        self.append(line)

    def has(self, text: str) -> bool:
        return any(text in line for line in self)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("envcache")


@pytest.fixture(scope="module")
def tiny(cache):
    log = Log()
    started = time.monotonic()
    built = ensure_built(TINY, cache, log)
    return built, log, time.monotonic() - started


def test_tiny_environment_builds_with_the_serving_runtime(tiny, cache):
    built, _, _ = tiny
    assert built.reused is False
    assert built.path == cache.resolve() / "envs" / built.key
    assert (built.path / MARKER).is_file()
    assert "six==1.16.0" in built.lock and "httptools==" in built.lock
    check = "import six, orjson, httptools, uvloop, modelport.serving.worker"
    subprocess.run([str(built.python), "-c", check], check=True, timeout=60)
    if (Path(modelport.__file__).parent / "serving" / "__main__.py").is_file():
        subprocess.run(
            [str(built.python), "-m", "modelport.serving", "--help"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    # modelport comes from the content-hashed runtime snapshot, without its control plane
    where = subprocess.run(
        [
            str(built.python),
            "-c",
            "import modelport, importlib.metadata as m; "
            "print(modelport.__file__); print(m.version('modelport'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert where[0].startswith(str(cache.resolve() / "runtime"))
    assert where[1] == modelport.__version__
    assert not (Path(where[0]).parent / "server").exists()


def test_azureml_packages_are_not_installed_and_the_log_says_so(tiny):
    built, log, _ = tiny
    assert log.has("azureml-defaults>=1.0.45: satisfied by modelport's azureml compatibility layer")
    assert log.has("azureml-monitoring: satisfied by")
    assert "azureml" not in built.lock


def test_translated_and_unused_v1_fields_are_explained_in_the_log(tiny):
    _, log, _ = tiny
    assert log.has("conda package pip=20.2.4 -> nothing to install")
    assert log.has("conda package six=1.16.0 -> PyPI six==1.16.0")
    assert log.has("docker settings are kept but not used")


def test_old_python_pin_uses_the_closest_interpreter_with_a_warning(tiny):
    built, log, _ = tiny
    assert log.has("WARNING: the environment pins python=3.6.2")
    assert built.python_version.startswith("3.11")


def test_uv_output_is_streamed_to_the_log(tiny):
    _, log, _ = tiny
    assert log.has("uv: Resolved")
    assert log.has("uv:  + six==1.16.0")


def test_second_build_reuses_without_rebuilding(tiny, cache):
    first, _, cold = tiny
    marker_mtime = (first.path / MARKER).stat().st_mtime_ns
    log = Log()
    started = time.monotonic()
    again = ensure_built(TINY, cache, log)
    warm = time.monotonic() - started
    assert again.reused is True
    assert again.key == first.key and again.python == first.python
    assert (first.path / MARKER).stat().st_mtime_ns == marker_mtime
    assert not log.has("Creating virtual environment")
    assert warm < 1.0, f"reuse took {warm:.2f}s (cold build {cold:.2f}s)"


def test_a_stored_lock_reproduces_the_same_environment(tiny, cache):
    first, _, _ = tiny
    other_spec = EnvironmentSpec(name="other", pip_packages=("six",))  # would resolve differently
    log = Log()
    again = ensure_built(other_spec, cache, log, lock=first.lock)
    assert again.key == first.key and again.reused is True
    assert log.has("Using the stored lock")


def test_concurrent_builds_of_one_environment_build_it_once(tmp_path):
    spec = EnvironmentSpec(name="same", pip_packages=("six==1.16.0",))
    logs = [Log(), Log()]
    results: list = [None, None]
    barrier = threading.Barrier(2)

    def build(i: int) -> None:
        barrier.wait()
        results[i] = ensure_built(spec, tmp_path, logs[i])

    threads = [threading.Thread(target=build, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert all(r is not None for r in results)
    assert sorted(r.reused for r in results) == [False, True]
    assert results[0].key == results[1].key
    assert sum(log.has("Creating virtual environment") for log in logs) == 1
    assert len(list((tmp_path / "envs").iterdir())) == 2  # the venv and its lock file


def test_concurrent_builds_in_two_processes_build_once(tmp_path):
    # Two server processes deploying the same environment at once.
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from modelport.environments import EnvironmentSpec, ensure_built
        spec = EnvironmentSpec(name="p", pip_packages=("six==1.16.0",))
        built = ensure_built(spec, Path({str(tmp_path)!r}), lambda line: None)
        print(built.reused, built.key)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(o[0] for o in outputs) == ["False", "True"]
    assert outputs[0][1] == outputs[1][1]


def test_interrupted_build_is_wiped_and_redone(tmp_path):
    # A builder that dies (SIGKILL) in the middle of installing packages.
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from modelport.environments import EnvironmentSpec, ensure_built
        def log(line):
            if line.startswith("uv:  + "):
                os.kill(os.getpid(), signal.SIGKILL)
        ensure_built(EnvironmentSpec(name="k", pip_packages=("six==1.16.0",)), Path({str(tmp_path)!r}), log)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], timeout=240, check=False)
    assert proc.returncode == -9
    (partial,) = [p for p in (tmp_path / "envs").iterdir() if p.is_dir()]
    assert not (partial / MARKER).exists()
    log = Log()
    built = ensure_built(EnvironmentSpec(name="k", pip_packages=("six==1.16.0",)), tmp_path, log)
    assert built.reused is False and built.path == partial
    assert log.has("Removing the incomplete build")
    assert (partial / MARKER).is_file()
    subprocess.run(
        [str(built.python), "-c", "import six, modelport.serving"], check=True, timeout=60
    )


def test_pinned_version_that_cannot_install_names_package_and_interpreter(tmp_path):
    spec = EnvironmentSpec(name="old", pip_packages=("six", "numpy==1.19.5"))
    log = Log()
    with pytest.raises(EnvironmentBuildError) as err:
        ensure_built(spec, tmp_path, log)
    message = str(err.value)
    v = sys.version_info
    assert "numpy==1.19.5" in message
    assert f"Python {v.major}.{v.minor}.{v.micro}" in message
    assert "\n" not in message and "unsatisfiable" not in message
    assert log.has("unsatisfiable")  # the raw resolver output is in the log only
    assert not (tmp_path / "envs").exists()


def test_unknown_package_is_named(tmp_path):
    spec = EnvironmentSpec(name="typo", pip_packages=("modelport-no-such-package-zz",))
    with pytest.raises(
        EnvironmentBuildError, match=r"modelport-no-such-package-zz.*does not exist.*Check the name"
    ):
        ensure_built(spec, tmp_path, Log())


def test_index_options_are_kept_in_the_lock(tmp_path):
    links = tmp_path / "wheels"
    links.mkdir()
    spec = EnvironmentSpec(name="opts", pip_packages=(f"--find-links {links}", "six==1.16.0"))
    built = ensure_built(spec, tmp_path / "cache", Log())
    assert f"--find-links {links}" in built.lock
    assert "six==1.16.0" in built.lock


def test_background_compile_writes_the_bytecode_once(tiny):
    """The compile a ready revision starts (replicas running as their own user cannot write .pyc
    into the shared environment): every package compiled, then the marker; once only."""
    from modelport.environments.build import COMPILED, compile_in_background

    built, _, _ = tiny
    log = Log()
    assert not (built.path / COMPILED).exists()
    assert compile_in_background(built.python, log) is True
    assert log.has("Compiling the environment's bytecode in the background")
    deadline = time.monotonic() + 120
    while not (built.path / COMPILED).is_file():
        assert time.monotonic() < deadline, "the background compile did not finish"
        time.sleep(0.1)
    [site] = built.path.glob("lib/python*/site-packages")
    assert list((site / "__pycache__").glob("six.cpython-*.pyc"))
    assert compile_in_background(built.python, log) is False  # done: never again
