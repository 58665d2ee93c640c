"""The exec shim every replica starts through: join the limits plan's cgroups, drop to the
service's own user when the plan names one, then become the replica.

It runs as ``python -I -c LAUNCHER <plan-json> <argv…>`` so it imports nothing from modelport
(the replica's interpreter may be a service environment) and the pid stays the replica's pid.
Applying limits here instead of in a ``preexec_fn`` keeps fork safe in a threaded server.
"""

from __future__ import annotations

LAUNCHER = """
import json, os, sys
plan = json.loads(sys.argv[1])
argv = sys.argv[2:]
try:
    for group in plan.get("cgroups") or ():
        with open(os.path.join(group, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    if plan.get("cpus") is not None:
        os.sched_setaffinity(0, plan["cpus"])
    if plan.get("user"):  # the service's own user (isolation.py): for good, before any user code
        uid, gid = plan["user"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.execv(argv[0], argv)
except OSError as exc:
    sys.stderr.write("modelport: cannot start replica: %s\\n" % exc)
    sys.exit(127)
"""

# exit code of the launcher when it cannot apply the limits or exec the interpreter
LAUNCH_FAILED = 127
