"""`ovrun validate`, `plan`, `graph` and `explain`: read a recipe and its cache, run nothing."""

from __future__ import annotations

import argparse
import json
import os
import sys

from runner.cli.common import read_grants, recipe_opts
from runner.core.errors import EXIT_OK, OvrunError, printable, suggest


def cmd_validate(args: argparse.Namespace) -> int:
    from runner.recipe.resolve import load_recipe

    checked = []
    grants = read_grants(args)
    for file in args.files:
        recipe = load_recipe(file, grants=grants)
        checked.append(
            {
                "file": file,
                "ok": True,
                "variants": len(recipe.variants),
                "devices": len(recipe.targets.devices),
            }
        )
        if not args.json:
            print(
                f"{file}: ok ({len(recipe.variants)} variants, "
                f"{len(recipe.targets.devices)} devices)"
            )
    if args.json:
        print(json.dumps({"files": checked}, indent=1))
    return EXIT_OK


_PLAN_COLORS = {"cached": "\033[32m", "skipped": "\033[33m", "run": "\033[36m"}


def cmd_plan(args: argparse.Namespace) -> int:
    from runner.session import open_session

    session = open_session(
        args.recipe,
        args.cache_dir,
        **recipe_opts(args),
        probe_devices=False,
        probe_in_child=True,
        only=args.only,
    )
    if args.json:
        return _plan_json(session)
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
        # file names and remote metadata in a reason are escaped; only our colors stay raw
        lines.append(f"{key}  {printable(task.id):<40} {word}{printable(reason)}")
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


def _plan_json(session) -> int:
    tasks = [
        {
            "id": task.id,
            "key": task.key,
            "state": session.decisions[task.id].state,
            "reason": session.decisions[task.id].reason,
        }
        for task in session.plan.order()
    ]
    counts = {s: sum(1 for t in tasks if t["state"] == s) for s in ("cached", "run", "skipped")}
    doc = {
        "recipe": str(session.recipe.file),
        "name": session.recipe.name,
        "tasks": tasks,
        "counts": counts,
        "left_out": list(session.left_out),
    }
    sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from runner.plan.graph import to_dot, to_mermaid
    from runner.session import open_session

    session = open_session(args.recipe, args.cache_dir, **recipe_opts(args), probe_devices=False)
    sys.stdout.write(to_dot(session.plan) if args.format == "dot" else to_mermaid(session.plan))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from runner.cache.key import diff
    from runner.session import open_session

    session = open_session(
        args.recipe, args.cache_dir, **recipe_opts(args), probe_devices=False, probe_in_child=True
    )
    task = session.plan.tasks.get(args.task)
    if task is None:
        raise OvrunError(
            f"no task '{args.task}' in {args.recipe}",
            hint=suggest(
                args.task, list(session.plan.tasks), otherwise="see `ovrun plan` for task ids"
            ),
        )
    decision = session.decisions[task.id]
    ref = session.cache.read_ref(session.recipe.name, task.id)
    if args.json:
        changes = (
            diff(ref["preimage"], task.preimage or {}) if ref and ref["key"] != task.key else []
        )
        doc = {
            "task": task.id,
            "op": task.op.name,
            "op_version": task.op.version,
            "state": decision.state,
            "reason": decision.reason,
            "key": task.key,
            "last_key": ref["key"] if ref else None,
            "changes": changes,
            "preimage": task.preimage,
        }
        print(json.dumps(doc, indent=1, sort_keys=True))
        return EXIT_OK
    print(f"task {task.id}  op {task.op.name} v{task.op.version}")
    if decision.state == "skipped":
        print(f"skipped: {decision.reason}")
        return EXIT_OK
    print(f"key {task.key}")
    if task.op.measures:
        _print_machine(task.device, (task.preimage or {}).get("machine"))
    if decision.state == "cached":
        print("cached: an entry with this exact preimage exists")
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


def _print_machine(device: str | None, machine: dict | None) -> None:
    """The hardware fingerprint a measuring task is keyed on, one field a line."""
    from runner.cache.decide import UNPROBED
    from runner.host.fingerprint import flatten

    if machine is None:
        print(f"measured on: unknown ({UNPROBED})")
        return
    print(f"measured on ({device}; the key holds this hardware fingerprint):")
    for name, value in flatten(machine).items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        print(f"  {name}: {shown}")
