"""`ovrun run`: execute a keyed plan, write the run dir, print the summary, decide the exit code."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from runner.atomic import write_text_atomic
from runner.errors import EXIT_FAILED, EXIT_OK
from runner.executor.local import LocalExecutor, Outcome
from runner.integrity import recheck_cached_report
from runner.plan import REPORT
from runner.session import Session


def default_out_dir(session: Session) -> Path:
    return session.recipe.file.parent / f"{session.recipe.name}.out"


def execute(
    session: Session, out_dir: Path, console, keep_going: bool = False, executor=None
) -> int:
    """Run the plan with ``executor`` (default: the sequential local one)."""
    from runner.progress import RichProgress

    started = time.time()
    session.cache.clean_stale_tmp()
    recheck_cached_report(session)
    plan = session.plan
    progress = RichProgress(console, len(plan.tasks))
    if executor is None:
        executor = LocalExecutor(
            session.cache, log_dir=out_dir / "logs", progress=progress, keep_going=keep_going
        )
    else:
        executor.progress, executor.log_dir, executor.keep_going = (
            progress,
            out_dir / "logs",
            keep_going,
        )
    outcomes = executor.run(plan, session.decisions)
    session.cache.clean_stale_tmp()  # staging dirs of workers that died mid-task
    _write_refs(session, outcomes)
    _share_and_deploy(session, outcomes, out_dir, console)

    results = _load_results(session, outcomes)
    doc = {
        **(results or {"schema": "ovrun.results/2", "recipe": session.recipe.name}),
        "host": session.host,
        "run": {
            "started": started,
            "seconds": time.time() - started,
            "recipe_file": str(session.recipe.file),
            "cache": str(session.cache.root),
            **({"left_out": session.left_out} if session.left_out else {}),
            "tasks": {
                t.id: {
                    "state": outcomes[t.id].state,
                    "reason": outcomes[t.id].reason,
                    "key": t.key,
                    "seconds": round(outcomes[t.id].seconds, 3),
                    **({"worker": outcomes[t.id].worker} if outcomes[t.id].worker else {}),
                }
                for t in plan.order()
            },
        },
    }
    from runner.search import summarize

    search = summarize(plan, session.cache, outcomes)  # Pareto set + choice, from the cache
    if search:
        doc["search"] = search
    from runner.report import finish

    finish.complete(session, doc)  # fingerprint versions, assert: verdicts
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        out_dir / "results.json", json.dumps(doc, indent=1, sort_keys=True, default=str)
    )
    html = finish.write_html(doc, out_dir, console) if results is not None else None

    if results is not None:
        from runner.report.table import gate_lines, precision_lines, skip_lines, summary_table

        console.print(summary_table(results))
        for line in skip_lines(results):
            console.print(line, style="yellow", highlight=False)
        for line in precision_lines(results):
            console.print(line, highlight=False, markup=False)
        for line in gate_lines(results):
            console.print(line, style="green" if "passed" in line else "bold red", highlight=False)
        from runner.report.applied import applied_lines

        for line in applied_lines(results):
            console.print(f"applied {line}", highlight=False)
    if search:
        from runner.report.search_table import print_search

        print_search(search, console, out_dir)
    finish.print_asserts(doc, console)
    if session.left_out:
        console.print(_left_out_line(session.left_out), highlight=False)
    console.print(f"results: {out_dir / 'results.json'}", highlight=False)
    if html is not None:
        console.print(f"report: {html}", highlight=False)
    code = _exit_code(session, outcomes, results, console)
    return EXIT_FAILED if code == EXIT_OK and finish.asserts_failed(doc) else code


def _left_out_line(left_out: list[str]) -> str:
    shown = ", ".join(left_out[:3]) + (f", … (+{len(left_out) - 3})" if len(left_out) > 3 else "")
    return f"--only: {len(left_out)} task(s) left out: {shown}"


def _share_and_deploy(session: Session, outcomes: dict[str, Outcome], out_dir: Path, console):
    """Push what this run built to the shared cache; copy deploy outputs into the run dir."""
    from runner.deploy import materialize_session
    from runner.remote import push_published

    ran = [session.plan.tasks[t].key for t, o in outcomes.items() if o.state == "ran"]
    pushed = push_published(session, ran, lambda m: console.print(f"warning: {m}", style="yellow"))
    if pushed:
        console.print(f"pushed {pushed} cache entries to {session.remote.url}", highlight=False)
    deployed = materialize_session(session, outcomes, out_dir)
    if deployed:
        console.print(f"deploy: {deployed}", highlight=False)


def _load_results(session: Session, outcomes: dict[str, Outcome]) -> dict[str, Any] | None:
    report = session.plan.tasks.get(REPORT)
    if report is None or outcomes[REPORT].state not in ("ran", "cached"):
        return None
    path = session.cache.out_dir(report.key) / "results.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _write_refs(session: Session, outcomes: dict[str, Outcome]) -> None:
    cache, name = session.cache, session.recipe.name
    for task in session.plan.order():
        if outcomes[task.id].state not in ("ran", "cached"):
            continue
        ref = cache.read_ref(name, task.id)
        if not ref or ref.get("key") != task.key:
            cache.write_ref(name, task.id, task.key, task.preimage or {})


def _exit_code(session: Session, outcomes: dict[str, Outcome], results, console) -> int:
    failed = [o for o in outcomes.values() if o.state == "failed"]
    for outcome in failed:
        console.print(
            f"[bold red]error:[/] task {outcome.task_id} failed: {outcome.reason}", highlight=False
        )
    if failed:
        return max(o.exit_code for o in failed)
    if results and not all(g["passed"] for g in results.get("gates", [])):
        where = session.recipe.location("evaluate", "max_drop")
        console.print(
            f"{where}: error: accuracy gate failed (see table above)",
            style="bold red",
            highlight=False,
        )
        return EXIT_FAILED
    return EXIT_OK
