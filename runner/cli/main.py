"""Command line: the parser and the dispatch table. Each command's module is imported when
the command runs, so `ovrun --help` and `ovrun validate` stay fast and never load openvino,
nncf, torch, transformers or networkx."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable

from runner.cli.common import add_cache_options, add_json, add_only, add_read_options
from runner.core.errors import EXIT_INTERRUPTED, EXIT_USAGE, OvrunError, suggest

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what `yes | head -1` reports for `yes`

COMMANDS = (
    "run",
    "validate",
    "plan",
    "graph",
    "explain",
    "lock",
    "verify",
    "cache",
    "report",
    "compare",
)

DESCRIPTION = """\
Declarative OpenVINO optimization workflows: export, calibrate, compress,
benchmark and evaluate a model from one YAML recipe, with a content-addressed cache.

  ovrun recipe.yaml            run a recipe (same as `ovrun run recipe.yaml`)
  ovrun validate recipe.yaml   check a recipe against the schema
  ovrun plan recipe.yaml       show each task and whether it is cached or will run
"""


class _Parser(argparse.ArgumentParser):
    """argparse with the "did you mean" hint of every other ovrun error (subparsers inherit
    the class, so `ovrun cache lss` gets it too)."""

    def error(self, message: str):  # type: ignore[override]
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = re.findall(r"'?([\w-]+)'?", choice.group(2))
            hint = suggest(choice.group(1), options)
            if hint:
                message = f"{message}\nhint: {hint}"
        super().error(message)


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``command="run"`` only the `run` subcommand (what `ovrun
    RECIPE` parses: building the other fifteen subparsers costs more than the cached run's
    own work, and `ovrun run ...` parses, helps and errs identically without them)."""
    parser = _Parser(
        prog="ovrun", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print ovrun's version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a recipe: build, benchmark, evaluate, report")
    run.add_argument("recipe", help="recipe YAML file")
    run.add_argument(
        "--out", metavar="DIR", help="run output dir (default: <recipe dir>/<name>.out)"
    )
    add_cache_options(run)
    run.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local: one task at a time here; dask: a Dask cluster (--scheduler or --workers)",
    )
    run.add_argument(
        "--scheduler", metavar="URL", help="Dask scheduler address, e.g. tcp://host:8786"
    )
    run.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="start a local Dask cluster with N worker processes",
    )
    run.add_argument(
        "--locked",
        action="store_true",
        help="refuse to run (exit 2) if anything resolves differently from ovrun.lock",
    )
    run.add_argument(
        "--keep-going", action="store_true", help="keep running independent tasks after a failure"
    )
    run.add_argument(
        "--allow-code",
        action="store_true",
        help="allow model code from a recipe with trust_remote_code: true (pinned revision)",
    )
    run.add_argument(
        "--force",
        nargs="*",
        metavar="TASK",
        help="re-run these tasks even if cached (no TASK: every task)",
    )
    add_only(run)
    run.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="stream the libraries' output (NNCF, transformers, OpenVINO) to the console; "
        "by default it goes to each task's log in <out>/logs/",
    )
    if command == "run":
        return parser

    validate = sub.add_parser(
        "validate", help="check recipes against the schema; exit 2 on the first error"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    add_json(validate)
    add_read_options(validate)

    plan = sub.add_parser("plan", help="list tasks with key prefix and cached / will run (reason)")
    plan.add_argument("recipe")
    add_only(plan)
    add_json(plan)
    add_cache_options(plan)

    graph = sub.add_parser("graph", help="print the task graph")
    graph.add_argument("recipe")
    graph.add_argument("--format", choices=("dot", "mermaid"), default="dot")
    add_cache_options(graph)

    explain = sub.add_parser(
        "explain", help="show why a task is cached or not: the preimage fields that changed"
    )
    explain.add_argument("recipe")
    explain.add_argument("task", help="task id as shown by `ovrun plan`")
    add_json(explain)
    add_cache_options(explain)
    from runner.cli import cache, report

    cache.add_commands(sub)
    report.add_commands(sub)
    return parser


class _Version(argparse.Action):
    """--version, read from the installed metadata only when asked for (it costs an import)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("ovrun")
        except PackageNotFoundError:
            found = "unknown"
        parser.exit(message=f"ovrun {found}\n")


# command -> "module:function" of its handler, imported only when that command runs
HANDLERS = {
    "run": "runner.cli.run:cmd_run",
    "validate": "runner.cli.recipe:cmd_validate",
    "plan": "runner.cli.recipe:cmd_plan",
    "graph": "runner.cli.recipe:cmd_graph",
    "explain": "runner.cli.recipe:cmd_explain",
    "lock": "runner.cli.cache:cmd_lock",
    "verify": "runner.cli.cache:cmd_verify",
    "cache": "runner.cli.cache:cmd_cache",
    "report": "runner.cli.report:cmd_report",
    "compare": "runner.cli.report:cmd_compare",
}


def handler(command: str) -> Callable[[argparse.Namespace], int]:
    module, _, func = HANDLERS[command].partition(":")
    return getattr(importlib.import_module(module), func)


def _normalize(argv: list[str]) -> list[str]:
    """`ovrun recipe.yaml ...` means `ovrun run recipe.yaml ...`; a word that is no file and
    looks like a mistyped command (`ovrun rnu x.yaml`) is an error with a suggestion."""
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        first = argv[0]
        looks_like_path = os.sep in first or "." in first or os.path.exists(first)
        hint = None if looks_like_path else suggest(first, COMMANDS)
        if hint:
            raise OvrunError(f"unknown command '{first}'", hint=hint)
        return ["run", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    from runner.core import telemetry

    telemetry.disable()  # before any adapter imports nncf; inherited by worker processes
    try:
        argv = _normalize(list(sys.argv[1:] if argv is None else argv))
    except OvrunError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    parser = _parser(argv[0] if argv[:1] == ["run"] else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args.command)(args)
    except OvrunError as exc:
        print(exc.render(), file=sys.stderr)
        if getattr(args, "json", False):  # scripts read stdout: the error is there too
            print(json_error(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print("ovrun: interrupted; no partial cache entries were kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `ovrun cache ls | head -1`: the reader has what it wanted
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # disk full while writing memos, refs or results: not a bug
        from runner.core.oserrors import storage_error

        error = storage_error(exc, "writing ovrun's files")
        if error is None:
            raise
        print(error.render(), file=sys.stderr)
        return error.exit_code


def json_error(exc: OvrunError) -> str:
    import json

    where = exc.location
    return json.dumps(
        {
            "error": {
                "message": exc.message,
                "hint": exc.hint,
                "file": where.file if where else None,
                "line": where.line if where else None,
                "col": where.col if where else None,
                "exit_code": exc.exit_code,
            }
        },
        indent=1,
    )


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def entry() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = code or EXIT_BROKEN_PIPE
    sys.exit(code)


if __name__ == "__main__":
    entry()
