"""`ovrun run`: open the session (locally or beside a Dask cluster), check --locked and
--allow-code, execute."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.cli.common import console, recipe_opts
from runner.core.confine import check_output_dir
from runner.core.errors import EXIT_OK, OvrunError, printable

if TYPE_CHECKING:
    from runner.executor.base import Executor
    from runner.session import Session


def cmd_run(args: argparse.Namespace) -> int:
    if args.executor == "local":
        if args.scheduler or args.workers:
            raise OvrunError(
                "--scheduler and --workers need --executor dask", hint="add --executor dask"
            )
        return _open_and_execute(args, args.cache_dir)
    return _run_on_dask(args)


def _open_and_execute(
    args: argparse.Namespace,
    cache_dir: str | Path | None,
    executor: Executor | None = None,
    **where: Any,
) -> int:
    """Open the session (``where``: what a cluster says about its devices), check --locked
    and --allow-code, execute."""
    from runner.run import default_out_dir, execute
    from runner.session import open_session

    session = open_session(
        args.recipe,
        cache_dir,
        **recipe_opts(args),
        probe_devices=True,
        force=None if args.force is None else set(args.force),
        only=args.only,
        **where,
    )
    out_dir = Path(args.out) if args.out else default_out_dir(session)
    check_output_dir(out_dir)  # before resolve(): a symlinked out dir is refused, not followed
    _check_locked(args, session)
    _check_code(args, session)
    code = execute(
        session, out_dir.resolve(), console(), keep_going=args.keep_going, executor=executor
    )
    if code == EXIT_OK:
        _refresh_lock(session)
    return code


def _refresh_lock(session: Session) -> None:
    """As `dvc repro` refreshes dvc.lock: a successful run rewrites this recipe's entry in an
    existing ovrun.lock (only when it changed); `--locked` is the strict mode."""
    from runner.cache.lockfile import has_entry, write_lock

    try:
        if has_entry(session.recipe.file):
            path, changed = write_lock(session)
            if changed:
                print(f"updated {path} (what this recipe resolves to moved; commit it)")
    except OvrunError as exc:  # a damaged lock must not turn a successful run into a failure
        print(f"warning: ovrun.lock not refreshed: {exc.render()}", file=sys.stderr)


def _run_on_dask(args: argparse.Namespace) -> int:
    from runner.cache.store import Cache, default_cache_dir
    from runner.executor.dask import DaskExecutor

    if bool(args.scheduler) == bool(args.workers):
        raise OvrunError(
            "--executor dask needs exactly one of --scheduler URL or --workers N",
            hint="--workers 2 starts a local cluster; --scheduler tcp://host:8786 joins an existing one",
        )
    from runner.recipe.load import load_file

    load_file(args.recipe)  # a bad recipe fails before a cluster is started
    cache = Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    with DaskExecutor(cache, scheduler=args.scheduler, workers=args.workers) as executor:
        return _open_and_execute(
            args,
            cache.root,
            executor,
            devices=executor.available_devices(),
            host_extra={"executor": "dask", "workers": executor.worker_devices()},
        )


def _check_code(args: argparse.Namespace, session: Session) -> None:
    """Running repository code also needs the user's consent on the command line."""
    recipe = session.recipe
    if recipe.model.trust_remote_code and not args.allow_code:
        raise OvrunError(
            "the recipe sets trust_remote_code: true, which runs Python code from the model "
            "repository",
            hint="review that code at the pinned revision, then re-run with --allow-code",
            location=recipe.location("model", "trust_remote_code"),
        )


def _check_locked(args: argparse.Namespace, session: Session) -> None:
    if not args.locked:
        return
    from runner.cache.lockfile import check, lock_path

    changes = check(session)
    if changes:
        for line in changes:
            print(f"  {printable(line)}", file=sys.stderr)  # lock text is not ours to trust
        raise OvrunError(
            f"--locked: {len(changes)} difference(s) from {lock_path(session.recipe.file)} (listed above)",
            hint=f"accept them with `ovrun lock {args.recipe}`, or restore what changed",
        )
