"""`ovrun run`: the command line over `runner.api.run`."""

from __future__ import annotations

import argparse

from runner.core.errors import OvrunError


def cmd_run(args: argparse.Namespace) -> int:
    if args.executor == "local":
        if args.scheduler or args.workers:
            raise OvrunError(
                "--scheduler and --workers need --executor dask", hint="add --executor dask"
            )
    elif bool(args.scheduler) == bool(args.workers):
        raise OvrunError(
            "--executor dask needs exactly one of --scheduler URL or --workers N",
            hint="--workers 2 starts a local cluster; --scheduler tcp://host:8786 joins an existing one",
        )
    from runner.api import run

    results = run(
        args.recipe,
        out=args.out,
        cache_dir=args.cache_dir,
        cache=args.remote,
        trusted_keys=args.trusted_keys,
        sets=args.sets,
        params=args.params,
        only=args.only,
        force=args.force,
        keep_going=args.keep_going,
        locked=args.locked,
        allow_code=args.allow_code,
        allow_read=args.allow_read,
        allow_pickle=args.allow_pickle,
        workers=args.workers,
        scheduler=args.scheduler,
        verbose=args.verbose,
    )
    return results.exit_code
