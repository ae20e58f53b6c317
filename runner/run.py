"""`ovrun run`: execute a keyed plan, write the run dir, print the summary, decide the exit code."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from runner.atomic import write_text_atomic
from runner.errors import EXIT_FAILED, EXIT_OK
from runner.executor.local import LocalExecutor, Outcome
from runner.plan import REPORT
from runner.session import Session


def default_out_dir(session: Session) -> Path:
    return session.recipe.file.parent / f"{session.recipe.name}.out"


def execute(session: Session, out_dir: Path, console, keep_going: bool = False) -> int:
    from runner.progress import RichProgress

    started = time.time()
    session.cache.clean_stale_tmp()
    plan = session.plan
    executor = LocalExecutor(
        session.cache,
        log_dir=out_dir / "logs",
        progress=RichProgress(console, len(plan.tasks)),
        keep_going=keep_going,
    )
    outcomes = executor.run(plan, session.decisions)
    _write_refs(session, outcomes)

    results = _load_results(session, outcomes)
    doc = {
        **(results or {"schema": "ovrun.results/1", "recipe": session.recipe.name}),
        "host": session.host,
        "run": {
            "started": started,
            "seconds": time.time() - started,
            "recipe_file": str(session.recipe.file),
            "cache": str(session.cache.root),
            "tasks": {
                t.id: {"state": outcomes[t.id].state, "reason": outcomes[t.id].reason, "key": t.key}
                for t in plan.order()
            },
        },
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        out_dir / "results.json", json.dumps(doc, indent=1, sort_keys=True, default=str)
    )

    if results is not None:
        from runner.report.table import gate_lines, skip_lines, summary_table

        console.print(summary_table(results))
        for line in skip_lines(results):
            console.print(line, style="yellow", highlight=False)
        for line in gate_lines(results):
            console.print(line, style="green" if "passed" in line else "bold red", highlight=False)
    console.print(f"results: {out_dir / 'results.json'}", highlight=False)
    return _exit_code(session, outcomes, results, console)


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
