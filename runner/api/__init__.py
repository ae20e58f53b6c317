"""The Python API: what `ovrun run` does, for notebooks and scripts.

    from runner import run
    results = run("recipes/quickstart.yaml", sets={"benchmark.max_s": 10})
    results.ok, results.table(), results.gates   # a Results; shown inline in Jupyter

The CLI is a thin layer over `run`: it turns its options into these keyword arguments and
the returned `Results.exit_code` into the process's exit code. Bad input raises
`runner.core.errors.OvrunError` (the CLI prints it and exits 2)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.api.results import Results
from runner.core.errors import EXIT_OK, OvrunError, printable

if TYPE_CHECKING:
    from runner.executor.base import Executor
    from runner.session import Session

__all__ = ["Results", "run"]


def run(
    recipe: str | Path,
    *,
    out: str | Path | None = None,
    cache_dir: str | Path | None = None,
    cache: str | None = None,
    trusted_keys: Iterable[str | Path] = (),
    sets: Mapping[str, Any] | Iterable[str] | None = None,
    params: Mapping[str, Any] | Iterable[str] | None = None,
    only: Iterable[str] | None = None,
    force: Iterable[str] | None = None,
    keep_going: bool = False,
    locked: bool = False,
    allow_code: bool = False,
    allow_read: Iterable[str | Path] = (),
    allow_pickle: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    verbose: bool = False,
    console: Any = None,
) -> Results:
    """Run ``recipe`` as `ovrun run` does and return what it produced.

    ``sets`` / ``params``: recipe overrides (``{"benchmark.duration_s": 2}``, ``{"bits": 4}``,
    or ``--set`` / ``--param`` strings such as ``["benchmark.duration_s=2"]``). ``cache``: the shared cache URL (``--cache``). ``force``:
    task ids or globs to rebuild (an empty list: all). ``workers`` / ``scheduler``: run on
    a Dask cluster. ``verbose``: the libraries print to the console instead of the task logs.
    ``console``: a rich Console for the live view and summary (default: stdout)."""
    options = _Options(
        out=Path(out) if out is not None else None,
        only=list(only) if only is not None else None,
        force=None if force is None else set(force),
        keep_going=keep_going,
        locked=locked,
        allow_code=allow_code,
        verbose=verbose,
        console=console if console is not None else default_console(),
        session_args=_session_args(cache, trusted_keys, sets, params, allow_read, allow_pickle),
    )
    if workers is None and scheduler is None:
        return _open_and_execute(recipe, cache_dir, options)
    return _run_on_dask(recipe, cache_dir, options, workers, scheduler)


@dataclass(frozen=True)
class _Options:
    out: Path | None
    only: list[str] | None
    force: set[str] | None
    keep_going: bool
    locked: bool
    allow_code: bool
    verbose: bool
    console: Any
    session_args: dict[str, Any]


def default_console() -> Any:
    """The console ovrun prints to: stdout's descriptor, kept while tasks' output is sent
    to their logs. rich is created only when something needs it (report/console.py: off a
    terminal, a fully cached run prints rich's text without importing it)."""
    from runner.executor.chatter import console_stream
    from runner.report.console import RunConsole

    return RunConsole(console_stream())


def _as_text(value: Any) -> str:
    """A Python value as the YAML scalar `--set` / `--param` would take."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)  # numbers, lists and mappings: JSON is YAML


def _assignments(given: Mapping[str, Any] | Iterable[str] | None) -> list[str]:
    if given is None:
        return []
    if isinstance(given, Mapping):
        return [f"{name}={_as_text(value)}" for name, value in given.items()]
    return [str(item) for item in given]


def _session_args(
    cache: str | None,
    trusted_keys: Iterable[str | Path],
    sets: Mapping[str, Any] | Iterable[str] | None,
    params: Mapping[str, Any] | Iterable[str] | None,
    allow_read: Iterable[str | Path],
    allow_pickle: bool,
) -> dict[str, Any]:
    from runner.cache.remote import open_remote, remote_url
    from runner.core.confine import Grants
    from runner.recipe.compose import Overrides

    overrides = Overrides(_assignments(sets), _assignments(params))
    return {
        "overrides": overrides,
        "remote": open_remote(remote_url(cache), [str(k) for k in trusted_keys] or None),
        "grants": Grants.from_user([str(d) for d in allow_read], allow_pickle),
    }


def _open_and_execute(
    recipe: str | Path,
    cache_dir: str | Path | None,
    options: _Options,
    executor: Executor | None = None,
    **where: Any,
) -> Results:
    """Open the session (``where``: what a cluster says about its devices), check
    ``locked`` and ``allow_code``, execute."""
    from runner.core.confine import check_output_dir
    from runner.execution import default_out_dir, execute
    from runner.session import open_session

    session = open_session(
        recipe,
        cache_dir,
        **options.session_args,
        probe_devices=True,
        force=options.force,
        only=options.only,
        **where,
    )
    out_dir = options.out or default_out_dir(session)
    check_output_dir(out_dir)  # before resolve(): a symlinked out dir is refused, not followed
    _check_locked(recipe, options.locked, session)
    _check_code(options.allow_code, session)
    done = execute(
        session,
        out_dir.resolve(),
        options.console,
        keep_going=options.keep_going,
        executor=executor,
        stream_output=options.verbose,
    )
    if done.code == EXIT_OK:
        _refresh_lock(session)
    return Results(done.code, done.doc, done.out_dir, done.results_file, done.report_html)


def _refresh_lock(session: Session) -> None:
    """As `dvc repro` refreshes dvc.lock: a successful run rewrites this recipe's entry in an
    existing ovrun.lock (only when it changed); ``locked`` is the strict mode."""
    from runner.cache.lockfile import has_entry, write_lock

    try:
        if has_entry(session.recipe.file):
            path, changed = write_lock(session)
            if changed:
                print(f"updated {path} (what this recipe resolves to moved; commit it)")
    except OvrunError as exc:  # a damaged lock must not turn a successful run into a failure
        print(f"warning: ovrun.lock not refreshed: {exc.render()}", file=sys.stderr)


def _run_on_dask(
    recipe: str | Path,
    cache_dir: str | Path | None,
    options: _Options,
    workers: int | None,
    scheduler: str | None,
) -> Results:
    from runner.cache.store import Cache, default_cache_dir
    from runner.executor.dask import DaskExecutor, worker_machines
    from runner.recipe.load import load_file

    if bool(scheduler) == bool(workers):
        raise OvrunError(
            "the Dask executor needs exactly one of a scheduler address or a worker count",
            hint="--workers 2 starts a local cluster; --scheduler tcp://host:8786 joins an existing one",
        )
    load_file(recipe)  # a bad recipe fails before a cluster is started
    cache = Cache(Path(cache_dir) if cache_dir else default_cache_dir())
    with DaskExecutor(cache, scheduler=scheduler, workers=workers) as executor:
        probes = executor.worker_probes()
        return _open_and_execute(
            recipe,
            cache.root,
            options,
            executor,
            devices=executor.available_devices(),
            host_extra={
                "executor": "dask",
                "workers": executor.worker_devices(),
                "worker_machines": worker_machines(probes),
            },
            worker_probes=probes,
        )


def _check_code(allow_code: bool, session: Session) -> None:
    """Running repository code also needs the user's consent, given where ovrun is run."""
    recipe = session.recipe
    if recipe.model.trust_remote_code and not allow_code:
        raise OvrunError(
            "the recipe sets trust_remote_code: true, which runs Python code from the model "
            "repository",
            hint="review that code at the pinned revision, then re-run with --allow-code "
            "(allow_code=True in Python)",
            location=recipe.location("model", "trust_remote_code"),
        )


def _check_locked(recipe: str | Path, locked: bool, session: Session) -> None:
    if not locked:
        return
    from runner.cache.lockfile import check, lock_path

    changes = check(session)
    if changes:
        for line in changes:
            print(f"  {printable(line)}", file=sys.stderr)  # lock text is not ours to trust
        raise OvrunError(
            f"--locked: {len(changes)} difference(s) from {lock_path(session.recipe.file)} (listed above)",
            hint=f"accept them with `ovrun lock {recipe}`, or restore what changed",
        )
