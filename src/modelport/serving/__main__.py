"""``python -m modelport.serving``: serve one Azure ML v1 entry script over HTTP (like ``azmlinfsrv``)."""

from __future__ import annotations

import argparse
import sys

from modelport.serving import settings as settings_mod
from modelport.serving.process import (
    EXIT_CONFIG,
    EXIT_LISTEN,
    EXIT_USAGE,
    ConfigError,
    bind,
    port_has_listener,
    supervise,
    tls_context,
)

DESCRIPTION = """\
Serve an entry script that defines init() and run(), the Azure ML v1 way:
  GET /                 200 Healthy once init() has finished (503 before)
  GET|POST|OPTIONS /score   calls run() (body text, @rawhttp request, or @input_schema arguments)
  GET /swagger.json?version=2|3|3.1   API description
  GET /metrics          Prometheus metrics

example:
  python -m modelport.serving --entry-script score.py --model-dir ./model --port 5001
  curl -d '{"data": [[...]]}' -H 'Content-Type: application/json' http://127.0.0.1:5001/score

Every option can also be set by environment variable (shown in brackets) or in --config-file.
Exit codes: 0 stopped (SIGTERM drains first), 2 bad option, 3 entry script failed to load or
init() raised, 4 TLS/auth file unusable, 5 cannot listen on the port.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modelport.serving",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for s in settings_mod.SETTINGS:
        if s.flag is None:
            continue
        env = ", ".join(s.env)
        default = "" if s.default is None else f" Default: {s.default}."
        kind = s.type if s.type in (int, float) else str
        parser.add_argument(s.flag, dest=s.name, type=kind, default=None, metavar=s.metavar,
                            help=f"{s.help}{default} [{env}]")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    ns = parser.parse_args(args_list)
    try:
        settings = settings_mod.resolve(vars(ns))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from modelport.serving import logs

    logs.setup(settings.log_level, settings.access_log)
    if settings.workers > 1:
        return supervise(args_list, settings)
    try:
        tls_context(settings.tls_cert, settings.tls_key)
        from modelport.serving.auth import load_auth

        auth = load_auth(settings.auth_file, settings.service_name)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        # A replica joining a port that siblings already serve listens only once init() is done, so
        # it never takes a share of the traffic while starting; alone on the port, it listens at once
        # and answers GET / with 503 until init() has finished.
        defer = settings.health_port is not None or (
            settings.port != 0 and port_has_listener(settings.port)
        )
        main_sock = bind(settings.host, settings.port, listen=not defer)
        health_sock = (
            bind(settings.host, settings.health_port, reuse_port=False)
            if settings.health_port is not None
            else None
        )
    except OSError as exc:
        print(
            f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_LISTEN
    from modelport.serving import worker

    return worker.run(settings, main_sock, health_sock, auth)


if __name__ == "__main__":
    sys.exit(main())
