"""``python -m modelport.serving``: serve one Azure ML v1 entry script over HTTP (like ``azmlinfsrv``)."""

from __future__ import annotations

import argparse
import errno
import os
import sys

from modelport import __version__
from modelport.serving import azmlinfsrv
from modelport.serving import settings as settings_mod
from modelport.serving.process import (
    CHILD_ENV,
    EXIT_CONFIG,
    EXIT_LISTEN,
    EXIT_USAGE,
    ConfigError,
    bind,
    port_has_listener,
    port_in_use,
    port_owner,
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
  modelport serve --entry_script score.py --model_dir ./model   (azmlinfsrv's spellings work too)
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
        names = (s.flag, *s.aliases)
        if s.default is False:  # an on/off switch
            parser.add_argument(*names, dest=s.name, action="store_const", const=True, default=None,
                                help=f"{s.help} [{env}]")  # fmt: skip
            continue
        default = "" if s.default is None else f" Default: {s.default}."
        kind = s.type if s.type in (int, float) else str
        parser.add_argument(*names, dest=s.name, type=kind, default=None, metavar=s.metavar,
                            help=f"{s.help}{default} [{env}]")  # fmt: skip
    return parser


def _busy_port_message(host: str, port: int) -> str:
    owner = port_owner(port)
    who = f", by {owner}" if owner else ""
    # the OS's wording stays in the line: the local driver reads it to report PortInUse
    return (
        f"error: cannot listen on {host}:{port}: Address already in use{who}. Stop that server or "
        "choose another --port; to spread one service over several processes use --workers N (or "
        "--share-port on each)."
    )


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

    logs.setup(settings.log_level, settings.access_log, settings.log_format)
    try:
        logs.load_logging_json(settings.app_root, settings.entry_script)
    except (OSError, ValueError, TypeError, AttributeError, ImportError) as exc:
        print(f"error: logging.json: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in settings.warnings:
        logs.log.warning("%s", warning)
    # what azmlinfsrv exports to the entry script
    os.environ["AML_APP_INSIGHTS_ENABLED"] = settings.app_insights_enabled
    share = bool(settings.share_port)
    if settings.workers > 1:
        if not share and settings.port != 0 and port_in_use(settings.host, settings.port):
            print(_busy_port_message(settings.host, settings.port), file=sys.stderr)
            return EXIT_LISTEN
        _banner(settings)
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
        # and answers GET / with 503 until init() has finished. A --workers child always waits:
        # siblings start together, and one that listened first and was ready last answered 503
        # "starting" to its share of the connections after the others were serving.
        defer = (
            settings.health_port is not None
            or os.environ.get(CHILD_ENV) == "1"
            or (share and settings.port != 0 and port_has_listener(settings.port))
        )
        main_sock = bind(settings.host, settings.port, reuse_port=share, listen=not defer)
        health_sock = (
            bind(settings.host, settings.health_port, reuse_port=False)
            if settings.health_port is not None
            else None
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(_busy_port_message(settings.host, settings.port), file=sys.stderr)
        else:
            print(
                f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
                file=sys.stderr,
            )
        return EXIT_LISTEN
    from modelport.serving import worker

    _banner(settings)
    return worker.run(settings, main_sock, health_sock, auth)


def _banner(settings: settings_mod.Settings) -> None:
    """The original's startup facts, once the options are known to be usable (not per worker)."""
    if os.environ.get(CHILD_ENV) != "1":
        # written past azmlinfsrv's print hook, as the original prints it before installing one
        sys.stdout.write(azmlinfsrv.banner(settings, __version__) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
