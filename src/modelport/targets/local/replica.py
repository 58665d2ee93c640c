"""One replica process: start it (through the launcher), notice its exit, stop it, probe it.

The supervisor in driver.py owns the schedule (when to restart, when to probe); this module only
knows how to act on one process and keeps the facts it needs in the replica's state file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelport.serving.busy import ENV as BUSY_ENV
from modelport.targets.base import EnforcedLimits, FailureCause, ReplicaSetSpec
from modelport.targets.local import isolation, limits, procs
from modelport.targets.local.launcher import LAUNCHER
from modelport.targets.local.rundir import START_MARK, read_json, write_json

# only these reach a replica from the workspace server's own environment: never its secrets
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")
LOG_ROTATE_BYTES = 64 * 2**20  # checked at each (re)start of a replica
RUN_DIR_ENV = "MODELPORT_RUN_DIR"  # marks every replica of a run dir (found again by /proc scans)
NOTE_MARK = "=== supervisor: "  # not START_MARK: a note does not begin a new process's lines
# The write end of the replica's ready pipe: the serving runtime writes one byte to it once init()
# finished and it listens, so the supervisor learns "ready" at once instead of polling for it.
READY_FD_ENV = "MODELPORT_READY_FD"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# The server's own shortage (no file descriptor, no local port, no buffer) says nothing of the
# replica: such a probe is skipped, not counted as a failure (SECURITY.md, connection floods).
PROBE_SKIPPED = -1
_LOCAL_SHORTAGE = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.EADDRNOTAVAIL)


def probe(port: int, timeout: float) -> int | None:
    """GET / on the replica's private health port: the status code, None if nothing answered,
    PROBE_SKIPPED when this process could not even try."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    except OSError as exc:
        return PROBE_SKIPPED if exc.errno in _LOCAL_SHORTAGE else None
    except http.client.HTTPException:
        return None
    finally:
        conn.close()


@dataclass
class Replica:
    spec: ReplicaSetSpec
    index: int
    port: int
    dir: Path
    run_dir: Path
    cgroup_root: Path = limits.CGROUP_ROOT
    pid: int | None = None
    start_ticks: int | None = None
    started_at: float | None = None  # epoch
    started_mono: float = 0.0
    health_port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    cause: FailureCause | None = None
    plan: limits.Plan = field(default_factory=limits.Plan)
    run_as: isolation.RunAs | None = None  # the service's own user (isolation.py), root only
    # supervision state (not persisted)
    ready: bool = False
    ever_ready: bool = False  # during the current process's life
    first_answer: float | None = None
    next_start: float = 0.0
    next_probe: float = 0.0
    probe_future: Any = None
    live_failures: int = 0
    live_successes: int = 0
    killed_by_probe: bool = False
    kill_reason: str | None = None  # why the supervisor killed the current process, if it did
    oom: str | None = None  # set when the current process went over its memory limit
    oom_kills_at_start: int = 0
    busy_noted: bool = False  # "busy inside run()" was written to the log for this stretch
    busy: bool = False  # the last probe went unanswered because it is inside run()
    ready_fd: int | None = None  # read end of the ready pipe until the replica said "ready"
    crash_times: list[float] = field(default_factory=list)
    stop_deadline: float | None = None

    @property
    def name(self) -> str:
        return f"replica-{self.index}"

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def state_path(self) -> Path:
        return self.dir / f"{self.name}.json"

    @property
    def busy_path(self) -> Path:
        """Where the replica marks "inside run() since T" (modelport.serving.busy)."""
        return self.dir / f"{self.name}.busy"

    @property
    def alive(self) -> bool:
        return self.pid is not None

    def env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
        env.update(self.spec.env)
        env.update(
            {
                RUN_DIR_ENV: str(self.run_dir),
                "MODELPORT_SERVICE_KEY": self.spec.service,
                "MODELPORT_REVISION": str(self.spec.revision),
                "MODELPORT_REPLICA": str(self.index),
                BUSY_ENV: str(self.busy_path),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def read_ready_signal(self) -> bool:
        """Read the ready pipe (it is readable): True if the replica said "ready"; the pipe is
        closed either way (end of file: the process exited or closed it without a word)."""
        fd, self.ready_fd = self.ready_fd, None
        if fd is None:
            return False
        try:
            return os.read(fd, 1) == b"R"
        except OSError:
            return False
        finally:
            os.close(fd)

    def close_ready_pipe(self) -> None:
        fd, self.ready_fd = self.ready_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def command(self) -> list[str]:
        s = self.spec
        argv = [s.python, "-m", s.module, *s.argv, "--host", s.host, "--port", str(self.port)]
        # a revision's replicas share the service port on purpose (serving refuses a busy port otherwise)
        argv += ["--health-port", str(self.health_port), "--workers", "1", "--share-port"]
        if s.auth_file:
            argv += ["--auth-file", s.auth_file]
        if s.tls_cert and s.tls_key:
            argv += ["--tls-cert", s.tls_cert, "--tls-key", s.tls_key]
        if not self.launched:
            return argv  # nothing to apply in the child but the user: Popen does that (start())
        plan = self.plan.to_json()
        if self.run_as is not None:  # the launcher drops to it after joining the cgroups
            plan = {**plan, "user": [self.run_as.uid, self.run_as.gid]}
        return [s.python, "-I", "-c", LAUNCHER, json.dumps(plan), *argv]

    @property
    def launched(self) -> bool:
        """Whether the replica starts through the launcher: only to join cgroups or set a CPU
        affinity in the child before exec (one more interpreter start, 20-50 ms)."""
        return bool(self.plan.cgroups) or self.plan.cpus is not None

    def _user_args(self) -> dict[str, Any]:
        """Popen's own user switch (in the child, after fork: no preexec_fn) when no launcher."""
        if self.launched or self.run_as is None:
            return {}
        return {"user": self.run_as.uid, "group": self.run_as.gid, "extra_groups": []}

    def _isolate(self) -> tuple[isolation.RunAs | None, str]:
        """The service's own user for this replica when the server is root (isolation.py)."""
        s = self.spec
        work = Path(s.working_dir)
        home = Path(os.path.commonpath([self.run_dir, work]))
        owned = [work, self.busy_path]  # not self.dir: specs, logs
        model_dir = s.env.get("AZUREML_MODEL_DIR")
        if model_dir and work not in Path(model_dir).parents:
            owned.append(Path(model_dir))
        # auth and TLS files: read, never written, by the replica (root's, its group's, 0640)
        readable = [Path(p) for p in (s.auth_file, s.tls_cert, s.tls_key) if p]
        return isolation.prepare(s.service, s.python, home, owned, [], readable)

    def start(self, attempt: int) -> None:
        """Start the process (non-blocking); its output goes to the replica's log file."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.busy_path.unlink(missing_ok=True)  # the previous process's marks are not this one's
        self.health_port = free_port()
        group = f"{self.spec.service.replace('/', '.')}.rev-{self.spec.revision}.{self.index}"
        self.plan = limits.plan(
            self.spec.cpu_cores, self.spec.memory_gb, self.index, group, self.cgroup_root
        )
        with contextlib.suppress(OSError):  # keep one previous log when it grew large
            if self.log_path.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.log_path, self.log_path.with_suffix(".log.1"))
        self.run_as, isolated = self._isolate()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(self.log_path, "ab") as log:
            log.write(
                f"{START_MARK}{stamp} start #{attempt} of {self.name} (rev {self.spec.revision}) "
                f"on port {self.port}, health port {self.health_port}; limits: "
                f"{self.plan.report.describe()} ===\n".encode()
            )
            log.write(f"modelport: {isolated}\n".encode())
            log.flush()
            self.close_ready_pipe()
            ready_r, ready_w = os.pipe()  # both ends close-on-exec; pass_fds hands one on
            try:
                self.proc = subprocess.Popen(
                    self.command(),
                    cwd=self.spec.working_dir,
                    env={**self.env(), READY_FD_ENV: str(ready_w)},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own session: outlives the server, killable as a group
                    close_fds=True,
                    pass_fds=(ready_w,),
                    **self._user_args(),
                )
            except BaseException:
                os.close(ready_r)
                raise
            finally:
                os.close(ready_w)
            self.ready_fd = ready_r
        self.pid = self.proc.pid
        info = procs.stat(self.pid)
        self.start_ticks = info.start_ticks if info else None
        self.started_at = time.time()
        self.started_mono = time.monotonic()
        self.ready = self.ever_ready = self.killed_by_probe = self.busy_noted = self.busy = False
        self.kill_reason = self.oom = None
        self.oom_kills_at_start = self.plan.oom_kills()
        self.first_answer = None
        self.live_failures = self.live_successes = 0
        self.next_probe = 0.0
        self.save()

    def save(self) -> None:
        write_json(
            self.state_path,
            {
                "pid": self.pid,
                "start_ticks": self.start_ticks,
                "started_at": self.started_at,
                "health_port": self.health_port,
                "port": self.port,
                "restarts": self.restarts,
                "last_exit_code": self.last_exit_code,
                # an adopting server keeps it ready until a probe says otherwise
                "ready": self.ever_ready and self.pid is not None,
                "limits": self.plan.to_json(),
                "limits_report": dataclasses.asdict(self.plan.report),
            },
        )

    def load(self) -> bool:
        """Re-attach to the process recorded in the state file; True if it is still running."""
        data = read_json(self.state_path) or {}
        self.restarts = int(data.get("restarts") or 0)
        self.last_exit_code = data.get("last_exit_code")
        pid, ticks = data.get("pid"), data.get("start_ticks")
        if not pid or not procs.is_running(pid, ticks):
            self.pid = None
            return False
        self.pid, self.start_ticks = pid, ticks
        self.health_port = data.get("health_port")
        # ready before the server restarted: still ready until a probe says otherwise (the
        # service reads Healthy across a restart instead of Unhealthy until its first probe)
        self.ready = self.ever_ready = bool(data.get("ready"))
        self.started_at = data.get("started_at")
        self.started_mono = time.monotonic() - max(0.0, time.time() - (self.started_at or 0))
        plan, report = data.get("limits") or {}, data.get("limits_report")
        if report:
            cpus = report.get("cpus")
            report["cpus"] = tuple(cpus) if cpus is not None else None
            report["notes"] = tuple(report.get("notes") or ())
            self.plan = limits.Plan.from_json(plan, EnforcedLimits(**report))
        return True

    def poll(self) -> tuple[bool, int | None]:
        """(exited, exit code); the code is None when the process was adopted from another server."""
        if self.pid is None:
            return True, self.last_exit_code
        if self.proc is not None:
            code = self.proc.poll()
            return (code is not None), code
        try:  # a child of this process (e.g. a driver re-created in the same process)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                return True, os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            pass
        if procs.is_running(self.pid, self.start_ticks):
            return False, None
        return True, None

    def mark_exited(self, code: int | None) -> None:
        self.pid = None
        self.proc = None
        self.ready = self.busy = False
        self.close_ready_pipe()
        self.last_exit_code = code
        self.probe_future = None
        limits.remove_cgroups(self.plan.cgroups)
        self.save()

    def note(self, text: str) -> None:
        """A supervisor line in the replica's log, so ``service get-logs`` says what it did."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with contextlib.suppress(OSError), open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"{NOTE_MARK}{stamp} {self.name}: {text}\n")

    def kill(self, reason: str) -> None:
        """SIGKILL the replica's process group, saying why in its log."""
        self.kill_reason = reason
        self.note(f"killing pid {self.pid}: {reason}")
        self.signal(signal.SIGKILL, group=True)

    def check_memory(self) -> None:
        """The RSS watchdog (no memory cgroup): over the limit is an OOM kill, as a cgroup's."""
        limit = self.plan.rss_limit
        rss = limits.rss_bytes(self.pid) if limit is not None and self.pid else None
        if limit is not None and rss is not None and rss > limit:
            self.oom = (f"OOMKilled: resident memory {rss / 2**20:.0f} MiB went over the "
                        f"memory limit of {limit / 2**20:.0f} MiB (RSS watchdog)")  # fmt: skip
            self.kill(self.oom)

    def exited_out_of_memory(self) -> str | None:
        """Why the process that just exited was an OOM kill (watchdog or kernel), if it was."""
        if self.oom is None and self.plan.oom_kills() > self.oom_kills_at_start:
            limit = self.plan.report.memory_bytes or 0
            self.oom = (f"OOMKilled: the kernel killed it at the memory limit of "
                        f"{limit / 2**20:.0f} MiB (memory cgroup)")  # fmt: skip
        return self.oom

    def signal(self, sig: int, group: bool = False) -> None:
        """Send ``sig`` to the replica (or its whole process group) if it is still the same process."""
        if self.pid is None or not procs.is_running(self.pid, self.start_ticks):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if group:
                os.killpg(self.pid, sig)  # setsid made the replica its group's leader
            else:
                os.kill(self.pid, sig)

    def kill_group_leftovers(self, pgid: int | None) -> None:
        """Children the replica left behind in its process group (it may already be gone)."""
        if pgid is None:
            return
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError as exc:
            if exc.errno not in (errno.ESRCH, errno.EPERM):
                raise
