"""Execute a session's plan, write the run dir (refs, results.json, report.html, deploy/),
print the summary and decide the exit code. Nothing here changes a decision. `runner.api`
(the Python API) and the CLI on top of it call this.

The executor runs every task but the report; the report is gathered here afterwards from
whatever finished, so a failed, blocked or pruned cell is a row with its reason instead of
a report that never runs (`cache/gather.py` keys it by what its upstream tasks produced)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.core.atomic import write_text_atomic
from runner.core.errors import EXIT_FAILED, EXIT_OK
from runner.executor.base import STOPPED, Executor, Outcome, RunOptions, result_reader
from runner.plan.tasks import REPORT, Plan
from runner.report.load import SCHEMA
from runner.session import Session


@dataclass(frozen=True)
class Execution:
    """What one execution left behind: the exit code and where its documents are."""

    code: int
    doc: dict[str, Any]  # what results.json (or results-only.json) holds
    out_dir: Path
    results_file: Path
    report_html: Path | None


def default_out_dir(session: Session) -> Path:
    return session.recipe.file.parent / f"{session.recipe.name}.out"


def execute(
    session: Session,
    out_dir: Path,
    console: Any,
    keep_going: bool = False,
    executor: Executor | None = None,
    stream_output: bool = False,
) -> Execution:
    """Run the plan with ``executor`` (default: the sequential local one). Libraries' output
    goes to each task's log unless ``stream_output``."""
    from runner.executor.progress import RichProgress

    started = time.time()
    session.cache.clean_stale_tmp()
    plan = session.plan
    if executor is None:
        from runner.executor.local import LocalExecutor

        executor = LocalExecutor(session.cache)
    options = RunOptions(
        log_dir=out_dir / "logs",
        progress=RichProgress(console, len(plan.tasks)),
        keep_going=keep_going,
        stream_output=stream_output,
    )
    work = Plan(
        plan.recipe,
        {tid: t for tid, t in plan.tasks.items() if tid != REPORT},
        prune=plan.prune,
        skipped=plan.skipped,
    )
    outcomes = executor.run(work, session.decisions, options)
    session.cache.clean_stale_tmp()  # staging dirs of workers that died mid-task
    if REPORT in plan.tasks:
        outcomes[REPORT] = _gather_report(session, outcomes, options)
    _write_refs(session, outcomes)
    _share(session, outcomes, console)

    results = _load_results(session, outcomes)
    doc = {
        **(results or {"schema": SCHEMA, "recipe": session.recipe.name}),
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
    _add_identity(session, doc)
    from runner.report import finish
    from runner.report.search import summarize

    # Pareto set + choice, from the cache
    search = summarize(plan, result_reader(plan, session.cache, outcomes), outcomes)
    if search:
        doc["search"] = search
    finish.complete(session.recipe.asserts, doc)  # fingerprint versions, assert: verdicts
    from runner.deploy.publish import deploy_passed

    # after the verdicts: only what passed
    finished = {t for t, o in outcomes.items() if o.state in ("ran", "cached")}
    deploy_passed(session.recipe, session.plan, session.cache, finished, out_dir, doc, console)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_file = _results_file(out_dir, results, session.left_out, console)
    write_text_atomic(results_file, json.dumps(doc, indent=1, sort_keys=True, default=str))
    html = finish.write_html(doc, out_dir, console) if results is not None else None
    from runner.report.terminal import print_summary

    print_summary(console, doc, results, out_dir, html, session.left_out, results_file)
    code = _exit_code(session, outcomes, results, console)
    if code == EXIT_OK and finish.asserts_failed(doc):
        code = EXIT_FAILED
    return Execution(code, doc, out_dir, results_file, html)


def _add_identity(session: Session, doc: dict[str, Any]) -> None:
    """The model and each cell's IR digest, so `ovrun compare` can tell what was measured."""
    from runner.report.identity import ir_digests, model_identity

    doc["model"] = model_identity(session.recipe, session.plan)
    digests = ir_digests(session.plan, session.cache)
    for row in doc.get("benchmarks") or []:
        if row.get("task") in digests:
            row["ir_digest"] = digests[row["task"]]


ONLY_RESULTS = "results-only.json"


def _results_file(
    out_dir: Path, results: dict[str, Any] | None, left_out: list[str], console: Any
) -> Path:
    """results.json, unless `--only` left the report out and results.json holds a run's
    report: a partial run never overwrites complete results."""
    path = out_dir / "results.json"
    if results is not None or not left_out or not _has_report(path):
        return path
    console.print(
        f"--only: results.json of the last full run kept; this run's task states are in {ONLY_RESULTS}",
        highlight=False,
    )
    return out_dir / ONLY_RESULTS


def _has_report(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "benchmarks" in doc


def _share(session: Session, outcomes: dict[str, Outcome], console: Any) -> None:
    """Push what this run built to the shared cache."""
    if session.remote is None:
        return
    from runner.cache.remote import push_published

    ran = [session.plan.tasks[t].key for t, o in outcomes.items() if o.state == "ran"]
    pushed = push_published(
        session.remote,
        session.cache,
        ran,
        lambda m: console.print(f"warning: {m}", style="yellow"),
    )
    if pushed and session.remote is not None:
        console.print(f"pushed {pushed} cache entries to {session.remote.url}", highlight=False)


def _gather_report(session: Session, outcomes: dict[str, Outcome], options: RunOptions) -> Outcome:
    """Build the report from the upstream tasks that finished; the others become rows with
    their state and reason. Its key (set on the plan's report task, so refs and results.json
    name it) covers the upstream outputs and what is missing."""
    from runner.cache.gather import gathered

    plan, cache = session.plan, session.cache
    report = plan.tasks[REPORT]
    missing = {}
    for dep in report.deps.values():
        outcome = outcomes.get(dep) or Outcome(dep, "blocked", STOPPED)
        if outcome.state not in ("ran", "cached"):
            missing[dep] = {"state": outcome.state, "reason": outcome.reason}
    task = gathered(report, plan, cache, missing)
    plan.tasks[REPORT] = task
    decision = session.decisions[REPORT]
    forced = decision.reason == "forced"
    if cache.has(task.key) and not forced:
        outcome = Outcome(REPORT, "cached")
    else:
        from runner.executor.task import execute_task

        options.progress.start(task, decision)
        outcome = execute_task(
            cache,
            task,
            {role: plan.tasks[dep].key for role, dep in task.deps.items()},
            forced=forced,
            log_dir=options.log_dir,
        )
    options.progress.finish(task, outcome)
    return outcome


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


def _exit_code(
    session: Session, outcomes: dict[str, Outcome], results: dict[str, Any] | None, console: Any
) -> int:
    failed = [o for o in outcomes.values() if o.state == "failed"]
    for outcome in failed:
        console.print(
            f"[bold red]error:[/] task {outcome.task_id} failed: {outcome.reason}", highlight=False
        )
    if failed:
        return max(o.exit_code for o in failed)
    # passed None: the gate could not be evaluated (its evaluation did not finish)
    failed_gates = [g for g in (results or {}).get("gates", []) if g["passed"] is False]
    if failed_gates:
        # a verdict on the results, not a problem with the input: no `error:` at a position
        where = session.recipe.location("evaluate", "max_drop")
        names = ", ".join(g["variant"] for g in failed_gates)
        console.print(
            f"accuracy gate failed: {names} over evaluate.max_drop {failed_gates[0]['max_drop']} "
            f"(set at {where}; see the gate lines above)",
            style="bold red",
            highlight=False,
        )
        return EXIT_FAILED
    return EXIT_OK
