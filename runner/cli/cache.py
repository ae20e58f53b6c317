"""`ovrun lock`, `ovrun verify BUNDLE` and `ovrun cache ls|du|gc|verify|push|keygen`.

Nothing here imports a heavy library
(building the parser for `ovrun --help` imports this module)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.cli.common import add_cache_options, recipe_opts
from runner.core.errors import EXIT_FAILED, EXIT_OK, OvrunError, printable

if TYPE_CHECKING:
    from runner.cache.inventory import Entry


def add_commands(sub: Any) -> None:
    lock = sub.add_parser(
        "lock",
        help="run what is not cached, then write the recipe's resolution to ovrun.lock",
    )
    lock.add_argument("recipe")
    lock.add_argument("--out", metavar="DIR", help="run output dir (as for `ovrun run`)")
    lock.add_argument(
        "--no-run",
        action="store_true",
        help="resolve and write without running anything (uncached tasks get no results)",
    )
    add_cache_options(lock)

    verify = sub.add_parser("verify", help="check a deploy bundle (.tar.gz) against its manifest")
    verify.add_argument("bundle", metavar="BUNDLE")

    cache = sub.add_parser(
        "cache", help="inspect, clean and share the cache: ls, du, gc, verify, push, keygen"
    )
    cache_dir = argparse.ArgumentParser(add_help=False)  # accepted before or after ACTION
    cache_dir.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="cache location (as for `ovrun run`)",
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="one JSON document on stdout")
    cache.add_argument("--cache-dir", metavar="DIR", help="cache location (as for `ovrun run`)")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("ls", parents=[cache_dir, as_json], help="entries: key, task, size, age")
    actions.add_parser("du", parents=[cache_dir, as_json], help="total size, by op")
    gc = actions.add_parser(
        "gc",
        parents=[cache_dir],
        help="remove old entries; never ones a lock file in PATH... references",
    )
    gc.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="ovrun.lock files or dirs searched for them; their keys are kept",
    )
    gc.add_argument(
        "--keep-last",
        type=int,
        metavar="N",
        help="keep the N newest entries of each recipe's task",
    )
    gc.add_argument(
        "--older-than", metavar="AGE", help="remove entries older than AGE (e.g. 30d, 12h, 90m)"
    )
    gc.add_argument("--dry-run", action="store_true", help="list what would be removed")
    check = actions.add_parser(
        "verify",
        parents=[cache_dir, as_json],
        help="re-hash every entry's outputs; report corrupt ones",
    )
    check.add_argument("--remove", action="store_true", help="also remove the corrupt entries")
    push = actions.add_parser(
        "push",
        parents=[cache_dir],
        help="seed the shared cache from this cache (all entries, or RECIPE's)",
    )
    push.add_argument("recipe", nargs="?", metavar="RECIPE", help="push only this recipe's tasks")
    push.add_argument(
        "--cache", metavar="URL", dest="remote", help="shared cache (default: $OVRUN_CACHE)"
    )
    push.add_argument(
        "--verify-remote",
        action="store_true",
        help="re-hash entries the remote already has (downloads them); replace damaged ones",
    )
    keygen = actions.add_parser(
        "keygen", help="write an ed25519 key pair DIR/NAME.key (private) and DIR/NAME.pub"
    )
    keygen.add_argument("name", metavar="NAME", help="key name, e.g. team-a-1")
    keygen.add_argument("--out", metavar="DIR", default=".", help="where to write (default: .)")


# -- lock ------------------------------------------------------------------------


def cmd_lock(args: argparse.Namespace) -> int:
    from runner.cache.lockfile import lock_path, write_lock
    from runner.core.confine import check_output_dir, check_output_file
    from runner.session import open_session

    session = open_session(
        args.recipe, args.cache_dir, **recipe_opts(args), probe_devices=not args.no_run
    )
    check_output_file(lock_path(session.recipe.file), "lock file")
    code = EXIT_OK
    if not args.no_run:
        from runner.api import default_console
        from runner.execution import default_out_dir, execute

        out_dir = Path(args.out) if args.out else default_out_dir(session)
        check_output_dir(out_dir)
        code = execute(session, out_dir.resolve(), default_console()).code
        needed = [t for t, d in session.decisions.items() if d.state == "run"]
        if code not in (EXIT_OK, EXIT_FAILED) or any(
            not session.cache.has(session.plan.tasks[t].key) for t in needed
        ):
            print("ovrun: not writing the lock: some tasks did not complete", file=sys.stderr)
            return code or EXIT_FAILED
    path, _ = write_lock(session)
    print(f"wrote {path}")
    return code


# -- verify BUNDLE ---------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from runner.deploy.bundle import verify_bundle

    path = Path(args.bundle)
    if not path.is_file():
        raise OvrunError(f"bundle not found: {path}", hint="pass the .tar.gz that ovrun deployed")
    try:
        checked, problems = verify_bundle(path)
    except ValueError as exc:
        raise OvrunError(
            f"{path} is not an ovrun bundle: {exc}", hint="pass a .tar.gz from <run>/deploy/"
        ) from None
    for problem in problems:
        print(f"{path}: {printable(problem)}")  # member names come from the bundle
    if problems:
        print(f"{path}: FAILED ({len(problems)} problem(s) in {checked} files)")
        return EXIT_FAILED
    print(f"{path}: ok ({checked} files match the manifest)")
    return EXIT_OK


# -- cache ls | du | gc | verify ----------------------------------------------------------


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _age(seconds: float) -> str:
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit}"
    return f"{seconds:.0f}s"


_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    match = _AGE.match(text.strip())
    if not match:
        raise OvrunError(
            f"--older-than {text!r} is not an age", hint="a number and a unit: 90m, 12h, 30d, 2w"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


_RECIPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # the schema's name rule


def locked_keys(paths: list[str], cache: Any) -> set[str]:
    """Every cache entry the lock files at or below ``paths`` stand for: the keys they name,
    and for the tasks a lock lists without a key (measured on a host, or keyed by what
    their inputs produced) the entry this cache's last run of that recipe task used."""
    from runner.cache.lockfile import LOCK_NAME, read_lock

    keys: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise OvrunError(f"no such file or directory: {raw}", hint="pass lock files or dirs")
        files = [path] if path.is_file() else sorted(path.rglob(LOCK_NAME))
        for file in files:
            doc = read_lock(file) or {}
            for recipe in doc.get("recipes", {}).values():
                keys |= _locked_task_keys(recipe, cache)
    return keys


def _locked_task_keys(recipe: dict[str, Any], cache: Any) -> set[str]:
    tasks = recipe.get("tasks")
    name = recipe.get("name")
    # the name becomes a path under refs/: a hostile lock must not walk out of it
    by_ref = isinstance(name, str) and _RECIPE_NAME.match(name) is not None
    keys: set[str] = set()
    for task_id, task in tasks.items() if isinstance(tasks, dict) else []:
        if not isinstance(task, dict) or "skipped" in task:
            continue
        if isinstance(task.get("key"), str):
            keys.add(task["key"])
        elif by_ref and isinstance(task_id, str):
            ref = cache.read_ref(name, task_id)
            if isinstance(ref, dict) and isinstance(ref.get("key"), str):
                keys.add(ref["key"])
    return keys


def cmd_cache(args: argparse.Namespace) -> int:
    from runner.cache.inventory import entries
    from runner.cache.store import Cache, default_cache_dir

    if args.action == "keygen":
        return _keygen(args)
    cache = Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    if args.action == "push":
        return _push(args, cache)
    found = entries(cache)
    if args.action != "verify":  # verify reports them with the corrupt entries
        for e in found:
            if e.problem:
                print(f"bad entry {e.key[:16]}: {e.problem}", file=sys.stderr)
    if args.action == "ls":
        return _ls(args, cache, found)
    if args.action == "du":
        return _du(args, found)
    if args.action == "gc":
        return _gc(args, cache, found)
    return _verify(args, cache, found)


def _ls(args: argparse.Namespace, cache: Any, found: list[Entry]) -> int:
    if args.json:
        _print_json({"cache": str(cache.root), "entries": [e.as_dict() for e in found]})
        return EXIT_OK
    now = time.time()
    for e in sorted(found, key=lambda e: e.published):
        print(
            f"{e.key[:16]}  {e.task:<36} {e.op:<16} {_human(e.size):>10}  "
            f"{_age(now - e.published)} ago"
        )
    print(f"{len(found)} entries in {cache.root}")
    return EXIT_OK


def _du(args: argparse.Namespace, found: list[Entry]) -> int:
    by_op: dict[str, list[int]] = {}
    for e in found:
        by_op.setdefault(e.op, []).append(e.size)
    if args.json:
        _print_json(
            {
                "ops": {
                    op: {"entries": len(s), "bytes": sum(s)} for op, s in sorted(by_op.items())
                },
                "total": {"entries": len(found), "bytes": sum(e.size for e in found)},
            }
        )
        return EXIT_OK
    for op, sizes in sorted(by_op.items()):
        print(f"{op:<18} {len(sizes):>5} entries  {_human(sum(sizes)):>10}")
    print(f"{'total':<18} {len(found):>5} entries  {_human(sum(e.size for e in found)):>10}")
    return EXIT_OK


def _gc(args: argparse.Namespace, cache: Any, found: list[Entry]) -> int:
    from runner.cache.inventory import select_garbage

    if args.keep_last is None and args.older_than is None:
        raise OvrunError(
            "cache gc needs --keep-last N and/or --older-than AGE",
            hint="e.g. ovrun cache gc --keep-last 3 recipes/",
        )
    if args.keep_last is not None and args.keep_last < 0:
        raise OvrunError("--keep-last must be 0 or more", hint="e.g. --keep-last 3")
    older = parse_age(args.older_than) if args.older_than else None
    protected = locked_keys(args.paths, cache)
    doomed = select_garbage(found, args.keep_last, older, protected, time.time())
    failed = 0
    for e in doomed:
        if args.dry_run:
            print(f"would remove {e.key[:16]}  {e.task}")
            continue
        problem = _remove(cache, e.key)
        if problem:
            failed += 1
            print(f"could not remove {e.key[:16]}  {e.task}: {problem}", file=sys.stderr)
        else:
            print(f"removed {e.key[:16]}  {e.task}")
    freed = sum(e.size for e in doomed)
    kept = sum(1 for e in found if e.key in protected)
    print(
        f"{len(doomed) - failed} entries ({_human(freed)}) "
        f"{'to remove' if args.dry_run else 'removed'}; "
        f"{kept} kept because a lock file references them"
        + (f"; {failed} could not be removed" if failed else "")
    )
    if not args.dry_run:
        cache.clean_stale_tmp()
    return EXIT_FAILED if failed else EXIT_OK


def _verify(args: argparse.Namespace, cache: Any, found: list[Entry]) -> int:
    report = []
    for e in found:
        problems = ([e.problem] if e.problem else []) + cache.verify(e.key)
        if not problems:
            continue
        row = {"key": e.key, "task": e.task, "problems": problems}
        if args.remove:
            row["remove_error"] = _remove(cache, e.key)
        report.append(row)
    if args.json:
        _print_json({"checked": len(found), "corrupt": report})
        return EXIT_FAILED if report else EXIT_OK
    for row in report:
        print(f"corrupt {row['key'][:16]}  {row['task']}: {'; '.join(row['problems'])}")
        if row.get("remove_error"):
            print(f"  could not remove it: {row['remove_error']}")
    removed = sum(1 for row in report if args.remove and not row.get("remove_error"))
    print(
        f"{len(found)} entries checked, {len(report)} corrupt"
        + (f" ({removed} removed)" if args.remove and report else "")
    )
    return EXIT_FAILED if report else EXIT_OK


def _remove(cache: Any, key: str) -> str | None:
    """Remove an entry; what went wrong (permissions, a busy mount) instead of a traceback."""
    try:
        with cache.lock(key):
            cache.remove(key)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}; check the permissions of the cache dir"
    return None


def _print_json(doc: Any) -> None:
    print(json.dumps(doc, indent=1, sort_keys=True))


def _keygen(args: argparse.Namespace) -> int:
    from runner.cache.signing import SIGNING_ENV, TRUSTED_ENV, keygen

    secret, public = keygen(args.name, Path(args.out))
    print(f"wrote {secret} (private, mode 0600: keep it secret; never commit it)")
    print(f"wrote {public} (public: give it to everyone who pulls)")
    print(f"push with: export {SIGNING_ENV}={secret.resolve()}")
    print(f"pull with: export {TRUSTED_ENV}={public.resolve()}  (or --trusted-key {public})")
    return EXIT_OK


def _push(args: argparse.Namespace, cache: Any) -> int:
    from runner.cache.inventory import entries
    from runner.cache.remote import RemoteError, open_remote, remote_url

    remote = open_remote(remote_url(args.remote))
    if remote is None:
        raise OvrunError(
            "cache push needs a shared cache", hint="pass --cache URL or set OVRUN_CACHE"
        )
    keys = _recipe_keys(args, cache) if args.recipe else [e.key for e in entries(cache)]
    pushed = present = 0
    failed: list[str] = []
    for key in keys:
        if not cache.has(key):
            continue
        try:
            if remote.push(key, cache, deep=args.verify_remote):
                pushed += 1
            else:
                present += 1
        except (RemoteError, OSError) as exc:  # RemoteUnreachable is exit 2, not per entry
            failed.append(key)
            print(f"warning: could not push {key[:16]}: {exc}", file=sys.stderr)
    signed = f", signed by {remote.signer.name}" if remote.signer and pushed else ""
    print(
        f"pushed {pushed} cache entries to {remote.url}{signed}; {present} already there"
        + (f"; {len(failed)} failed" if failed else "")
    )
    return EXIT_FAILED if failed else EXIT_OK


def _recipe_keys(args: argparse.Namespace, cache: Any) -> list[str]:
    from runner.recipe.compose import Overrides
    from runner.session import open_session

    session = open_session(
        args.recipe, cache.root, probe_devices=False, overrides=Overrides([], [])
    )
    return [t.key for t in session.plan.order() if t.key]
