"""Command line. Each command imports what it needs when it runs, so `ovrun --help` and
`ovrun validate` stay fast and never load openvino, nncf, torch, transformers or networkx."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runner.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, OvrunError

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


def _add_cache(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache location (default: $OVRUN_CACHE_DIR or the user cache dir)",
    )
    p.add_argument(
        "--cache",
        metavar="URL",
        dest="remote",
        help="shared cache (dir or fsspec URL; default: $OVRUN_CACHE): pull hits, push new entries",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="PATH=VALUE",
        help="override a recipe value, e.g. --set benchmark.duration_s=2 (typed by the schema)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        dest="params",
        metavar="NAME=VALUE",
        help="set a parameter declared under params: (used as ${NAME} in the recipe)",
    )


def _recipe_opts(args) -> dict:
    """--set / --param / --cache as open_session keyword arguments."""
    from runner.recipe.compose import Overrides
    from runner.remote import remote_url

    return {
        "overrides": Overrides(list(args.sets), list(args.params)),
        "remote": remote_url(args.remote),
    }


def _add_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="TASK",
        help="run only these tasks (ids or globs, e.g. export, 'compress:*') and what they need",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ovrun", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"ovrun {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a recipe: build, benchmark, evaluate, report")
    run.add_argument("recipe", help="recipe YAML file")
    run.add_argument(
        "--out", metavar="DIR", help="run output dir (default: <recipe dir>/<name>.out)"
    )
    _add_cache(run)
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
    _add_only(run)

    validate = sub.add_parser(
        "validate", help="check recipes against the schema; exit 2 on the first error"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")

    plan = sub.add_parser("plan", help="list tasks with key prefix and cached / will run (reason)")
    plan.add_argument("recipe")
    _add_only(plan)
    _add_cache(plan)

    graph = sub.add_parser("graph", help="print the task graph")
    graph.add_argument("recipe")
    graph.add_argument("--format", choices=("dot", "mermaid"), default="dot")
    _add_cache(graph)

    explain = sub.add_parser(
        "explain", help="show why a task is cached or not: the preimage fields that changed"
    )
    explain.add_argument("recipe")
    explain.add_argument("task", help="task id as shown by `ovrun plan`")
    _add_cache(explain)
    from runner.cache_cli import add_commands

    add_commands(sub, _add_cache)
    from runner.report import cli as report_cli

    report_cli.add_commands(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ovrun")
    except PackageNotFoundError:
        return "unknown"


def _console():
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=max(console.width, 140))
    return console


def cmd_validate(args) -> int:
    from runner.recipe.model import load_recipe

    for file in args.files:
        recipe = load_recipe(file)
        print(
            f"{file}: ok ({len(recipe.variants)} variants, {len(recipe.targets.devices)} devices)"
        )
    return EXIT_OK


_PLAN_COLORS = {"cached": "\033[32m", "skipped": "\033[33m", "run": "\033[36m"}


def cmd_plan(args) -> int:
    from runner.session import open_session

    session = open_session(
        args.recipe, args.cache_dir, **_recipe_opts(args), probe_devices=False, only=args.only
    )
    # plain writes: a 10,000-task sweep must print in milliseconds, not through a renderer
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    counts = {"cached": 0, "run": 0, "skipped": 0}
    lines = []
    for task in session.plan.order():
        decision = session.decisions[task.id]
        counts[decision.state] += 1
        key = task.key[:12] if task.key else "-" * 12
        word = {"cached": "cached", "skipped": "skipped", "run": "will run"}[decision.state]
        if color:
            word = f"{_PLAN_COLORS[decision.state]}{word}\033[0m"
        reason = f" ({decision.reason})" if decision.reason else ""
        lines.append(f"{key}  {task.id:<40} {word}{reason}")
    if session.host is None and any(t.device for t in session.plan.order()):
        lines.append(
            "device availability is checked at run time (no probe of this host cached yet)"
        )
    lines.append(
        f"{len(session.plan.tasks)} tasks: {counts['cached']} cached, "
        f"{counts['run']} will run, {counts['skipped']} skipped"
        + (f"; {len(session.left_out)} left out by --only" if session.left_out else "")
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def cmd_graph(args) -> int:
    from runner.graph import to_dot, to_mermaid
    from runner.session import open_session

    session = open_session(args.recipe, args.cache_dir, **_recipe_opts(args), probe_devices=False)
    sys.stdout.write(to_dot(session.plan) if args.format == "dot" else to_mermaid(session.plan))
    return EXIT_OK


def cmd_explain(args) -> int:
    import difflib
    import json

    from runner.keys import diff
    from runner.session import open_session

    session = open_session(args.recipe, args.cache_dir, **_recipe_opts(args), probe_devices=False)
    task = session.plan.tasks.get(args.task)
    if task is None:
        close = difflib.get_close_matches(args.task, list(session.plan.tasks), n=1)
        raise OvrunError(
            f"no task '{args.task}' in {args.recipe}",
            hint=f"did you mean '{close[0]}'?" if close else "see `ovrun plan` for task ids",
        )
    decision = session.decisions[task.id]
    print(f"task {task.id}  op {task.op.name} v{task.op.version}")
    if decision.state == "skipped":
        print(f"skipped: {decision.reason}")
        return EXIT_OK
    print(f"key {task.key}")
    if decision.state == "cached":
        print("cached: an entry with this exact preimage exists")
    ref = session.cache.read_ref(session.recipe.name, task.id)
    if ref is None:
        print("no earlier run of this task recorded in this cache")
    elif ref["key"] == task.key:
        print(
            f"same key as the last run ({'present' if session.cache.has(task.key) else 'entry missing'})"
        )
    else:
        print(f"last run had key {ref['key']}; differences in the preimage:")
        for line in diff(ref["preimage"], task.preimage or {}):
            print(f"  {line}")
    print("preimage:")
    print(json.dumps(task.preimage, indent=2, sort_keys=True))
    return EXIT_OK


def cmd_run(args) -> int:
    from runner.run import default_out_dir, execute
    from runner.session import open_session

    force = None if args.force is None else set(args.force)
    if args.executor == "local":
        if args.scheduler or args.workers:
            raise OvrunError(
                "--scheduler and --workers need --executor dask", hint="add --executor dask"
            )
        session = open_session(
            args.recipe,
            args.cache_dir,
            **_recipe_opts(args),
            probe_devices=True,
            force=force,
            only=args.only,
        )
        out_dir = Path(args.out) if args.out else default_out_dir(session)
        _check_locked(args, session)
        _check_code(args, session)
        return execute(session, out_dir.resolve(), _console(), keep_going=args.keep_going)
    return _run_on_dask(args, force)


def _run_on_dask(args, force: set[str] | None) -> int:
    from runner.cache import Cache, default_cache_dir
    from runner.executor.dask import DaskExecutor
    from runner.run import default_out_dir, execute
    from runner.session import open_session

    if bool(args.scheduler) == bool(args.workers):
        raise OvrunError(
            "--executor dask needs exactly one of --scheduler URL or --workers N",
            hint="--workers 2 starts a local cluster; --scheduler tcp://host:8786 joins an existing one",
        )
    from runner.recipe.load import load_file

    load_file(args.recipe)  # a bad recipe fails before a cluster is started
    cache = Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    with DaskExecutor(cache, Path("."), scheduler=args.scheduler, workers=args.workers) as executor:
        session = open_session(
            args.recipe,
            cache.root,
            **_recipe_opts(args),
            probe_devices=True,
            force=force,
            only=args.only,
            devices=executor.available_devices(),
        )
        session.host = {
            **(session.host or {}),
            "executor": "dask",
            "workers": executor.worker_devices(),
        }
        out_dir = Path(args.out) if args.out else default_out_dir(session)
        _check_locked(args, session)
        _check_code(args, session)
        return execute(
            session, out_dir.resolve(), _console(), keep_going=args.keep_going, executor=executor
        )


def _check_code(args, session) -> None:
    from runner.recipe.model_sources import check_code_allowed

    check_code_allowed(session.recipe, args.allow_code)


def _check_locked(args, session) -> None:
    if not args.locked:
        return
    from runner.lock import check, lock_path

    changes = check(session)
    if changes:
        for line in changes:
            print(f"  {line}", file=sys.stderr)
        raise OvrunError(
            f"--locked: {len(changes)} difference(s) from {lock_path(session.recipe.file)} (listed above)",
            hint=f"accept them with `ovrun lock {args.recipe}`, or restore what changed",
        )


def _lazy(name: str):
    def handler(args) -> int:
        from runner import cache_cli

        return getattr(cache_cli, name)(args, _recipe_opts)

    return handler


def _report_cmd(name: str):
    def handler(args) -> int:
        from runner.report import cli as report_cli

        return getattr(report_cli, name)(args, _console())

    return handler


HANDLERS = {
    "report": _report_cmd("cmd_report"),
    "compare": _report_cmd("cmd_compare"),
    "lock": _lazy("cmd_lock"),
    "verify": _lazy("cmd_verify"),
    "cache": _lazy("cmd_cache"),
    "run": cmd_run,
    "validate": cmd_validate,
    "plan": cmd_plan,
    "graph": cmd_graph,
    "explain": cmd_explain,
}


def _normalize(argv: list[str]) -> list[str]:
    """`ovrun recipe.yaml ...` means `ovrun run recipe.yaml ...`."""
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        return ["run", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    from runner import telemetry

    telemetry.disable()  # before any adapter imports nncf; inherited by worker processes
    argv = _normalize(list(sys.argv[1:] if argv is None else argv))
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return HANDLERS[args.command](args)
    except OvrunError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ovrun: interrupted; no partial cache entries were kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # disk full while writing memos, refs or results: not a bug
        from runner.oserrors import storage_error

        error = storage_error(exc, "writing ovrun's files")
        if error is None:
            raise
        print(error.render(), file=sys.stderr)
        return error.exit_code


def entry() -> None:
    code = main()
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    entry()
