"""`ovrun lock`, `ovrun verify BUNDLE` and `ovrun cache ls|du|gc|verify`.

Nothing here imports a heavy library
(building the parser for `ovrun --help` imports this module)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from runner.cli.common import add_cache_options, console, recipe_opts
from runner.core.errors import EXIT_FAILED, EXIT_OK, OvrunError, printable


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

    cache = sub.add_parser("cache", help="inspect and clean the cache: ls, du, gc, verify")
    cache.add_argument("--cache-dir", metavar="DIR", help="cache location (as for `ovrun run`)")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("ls", help="entries: key, task, size, age")
    actions.add_parser("du", help="total size, by op")
    gc = actions.add_parser(
        "gc", help="remove old entries; never ones a lock file in PATH... references"
    )
    gc.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="ovrun.lock files or dirs searched for them; their keys are kept",
    )
    gc.add_argument("--keep-last", type=int, metavar="N", help="keep the N newest entries per task")
    gc.add_argument(
        "--older-than", metavar="AGE", help="remove entries older than AGE (e.g. 30d, 12h, 90m)"
    )
    gc.add_argument("--dry-run", action="store_true", help="list what would be removed")
    check = actions.add_parser("verify", help="re-hash every entry's outputs; report corrupt ones")
    check.add_argument("--remove", action="store_true", help="also remove the corrupt entries")


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
        from runner.run import default_out_dir, execute

        out_dir = Path(args.out) if args.out else default_out_dir(session)
        check_output_dir(out_dir)
        code = execute(session, out_dir.resolve(), console())
        needed = [t for t, d in session.decisions.items() if d.state == "run"]
        if code not in (EXIT_OK, EXIT_FAILED) or any(
            not session.cache.has(session.plan.tasks[t].key) for t in needed
        ):
            print("ovrun: not writing the lock: some tasks did not complete", file=sys.stderr)
            return code or EXIT_FAILED
    path = write_lock(session)
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


def _entries(cache) -> list[dict[str, Any]]:
    objects = cache.root / "objects"
    found = []
    for meta_file in sorted(objects.glob("*/*/meta.json")) if objects.is_dir() else []:
        entry = meta_file.parent
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        size = sum(p.stat().st_size for p in entry.rglob("*") if p.is_file())
        found.append(
            {
                "key": entry.name,
                "task": meta.get("task_id", "?"),
                "op": meta.get("op", "?"),
                "published": float(meta.get("published") or meta_file.stat().st_mtime),
                "size": size,
            }
        )
    return found


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


def locked_keys(paths: list[str]) -> set[str]:
    """Every cache key named by the lock files at or below ``paths``."""
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
                keys.update(t["key"] for t in recipe.get("tasks", {}).values() if t.get("key"))
    return keys


def select_garbage(
    entries: list[dict[str, Any]],
    keep_last: int | None,
    older_than: float | None,
    protected: set[str],
    now: float,
) -> list[dict[str, Any]]:
    """Entries to remove: older than the age (if given) and beyond the newest N of their
    task (if given); never a protected (locked) key."""
    rank: dict[str, int] = {}
    by_task: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in entries:
        by_task.setdefault((e["op"], e["task"]), []).append(e)
    for group in by_task.values():
        for i, e in enumerate(sorted(group, key=lambda e: -e["published"])):
            rank[e["key"]] = i
    doomed = []
    for e in entries:
        if e["key"] in protected:
            continue
        if keep_last is not None and rank[e["key"]] < keep_last:
            continue
        if older_than is not None and now - e["published"] <= older_than:
            continue
        doomed.append(e)
    return doomed


def cmd_cache(args: argparse.Namespace) -> int:
    from runner.cache.store import Cache, default_cache_dir

    cache = Cache(Path(args.cache_dir) if args.cache_dir else default_cache_dir())
    entries = _entries(cache)
    now = time.time()
    if args.action == "ls":
        for e in sorted(entries, key=lambda e: e["published"]):
            print(
                f"{e['key'][:16]}  {e['task']:<36} {e['op']:<16} {_human(e['size']):>10}  "
                f"{_age(now - e['published'])} ago"
            )
        print(f"{len(entries)} entries in {cache.root}")
        return EXIT_OK
    if args.action == "du":
        by_op: dict[str, list[int]] = {}
        for e in entries:
            by_op.setdefault(e["op"], []).append(e["size"])
        for op, sizes in sorted(by_op.items()):
            print(f"{op:<18} {len(sizes):>5} entries  {_human(sum(sizes)):>10}")
        print(
            f"{'total':<18} {len(entries):>5} entries  {_human(sum(e['size'] for e in entries)):>10}"
        )
        return EXIT_OK
    if args.action == "gc":
        if args.keep_last is None and args.older_than is None:
            raise OvrunError(
                "cache gc needs --keep-last N and/or --older-than AGE",
                hint="e.g. ovrun cache gc --keep-last 3 recipes/",
            )
        if args.keep_last is not None and args.keep_last < 0:
            raise OvrunError("--keep-last must be 0 or more", hint="e.g. --keep-last 3")
        older = parse_age(args.older_than) if args.older_than else None
        protected = locked_keys(args.paths)
        doomed = select_garbage(entries, args.keep_last, older, protected, now)
        for e in doomed:
            print(f"{'would remove' if args.dry_run else 'removed'} {e['key'][:16]}  {e['task']}")
            if not args.dry_run:
                with cache.lock(e["key"]):
                    cache.remove(e["key"])
        freed = sum(e["size"] for e in doomed)
        kept = sum(1 for e in entries if e["key"] in protected)
        print(
            f"{len(doomed)} entries ({_human(freed)}) {'to remove' if args.dry_run else 'removed'}; "
            f"{kept} kept because a lock file references them"
        )
        if not args.dry_run:
            cache.clean_stale_tmp()
        return EXIT_OK
    # verify
    corrupt = 0
    for e in entries:
        problems = cache.verify(e["key"])
        if problems:
            corrupt += 1
            print(f"corrupt {e['key'][:16]}  {e['task']}: {'; '.join(problems)}")
            if args.remove:
                cache.remove(e["key"])
    print(
        f"{len(entries)} entries checked, {corrupt} corrupt"
        + (" (removed)" if corrupt and args.remove else "")
    )
    return EXIT_FAILED if corrupt else EXIT_OK
