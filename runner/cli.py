"""Command line. Each command imports what it needs when it runs, so `ovrun --help` and
`ovrun validate` stay fast and never load openvino, nncf, torch, transformers or networkx."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runner.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, OvrunError

COMMANDS = ("run", "validate", "plan", "graph", "explain")

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
        "--keep-going", action="store_true", help="keep running independent tasks after a failure"
    )
    run.add_argument(
        "--force",
        nargs="*",
        metavar="TASK",
        help="re-run these tasks even if cached (no TASK: every task)",
    )

    validate = sub.add_parser(
        "validate", help="check recipes against the schema; exit 2 on the first error"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")

    plan = sub.add_parser("plan", help="list tasks with key prefix and cached / will run (reason)")
    plan.add_argument("recipe")
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


def cmd_plan(args) -> int:
    from runner.session import open_session

    session = open_session(args.recipe, args.cache_dir, probe_devices=False)
    console = _console()
    counts = {"cached": 0, "run": 0, "skipped": 0}
    for task in session.plan.order():
        decision = session.decisions[task.id]
        counts[decision.state] += 1
        key = task.key[:12] if task.key else "-" * 12
        if decision.state == "cached":
            status = "[green]cached[/]"
        elif decision.state == "skipped":
            status = f"[yellow]skipped[/] ({decision.reason})"
        else:
            status = f"[cyan]will run[/] ({decision.reason})"
        console.print(f"{key}  {task.id:<40} {status}")
    if session.host is None and any(t.device for t in session.plan.order()):
        console.print(
            "[dim]device availability is checked at run time (no probe of this host cached yet)[/]"
        )
    console.print(
        f"{len(session.plan.tasks)} tasks: {counts['cached']} cached, {counts['run']} will run, {counts['skipped']} skipped"
    )
    return EXIT_OK


def cmd_graph(args) -> int:
    from runner.graph import to_dot, to_mermaid
    from runner.session import open_session

    session = open_session(args.recipe, args.cache_dir, probe_devices=False)
    sys.stdout.write(to_dot(session.plan) if args.format == "dot" else to_mermaid(session.plan))
    return EXIT_OK


def cmd_explain(args) -> int:
    import difflib
    import json

    from runner.keys import diff
    from runner.session import open_session

    session = open_session(args.recipe, args.cache_dir, probe_devices=False)
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
    session = open_session(args.recipe, args.cache_dir, probe_devices=True, force=force)
    out_dir = Path(args.out) if args.out else default_out_dir(session)
    console = _console()
    return execute(session, out_dir.resolve(), console, keep_going=args.keep_going)


HANDLERS = {
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


def entry() -> None:
    code = main()
    sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    entry()
