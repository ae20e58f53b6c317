"""`ovrun report RUN_DIR` and `ovrun compare RUN_A RUN_B`: they read run dirs only, so
they import no ML library."""

from __future__ import annotations

import argparse
from pathlib import Path

from runner.cli.common import add_json, console


def add_commands(sub) -> None:
    report = sub.add_parser(
        "report", help="re-render RUN_DIR/report.html from RUN_DIR/results.json"
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run dir written by `ovrun run`")
    report.add_argument("--out", metavar="FILE", help="write here (default: RUN_DIR/report.html)")
    compare = sub.add_parser(
        "compare", help="per-cell throughput / latency deltas between two runs, noise-aware"
    )
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument(
        "--allow-different",
        metavar="KINDS",
        default="",
        help="give verdicts even though the runs differ in these (comma-separated: "
        "models, hosts, shapes); by default such cells read 'not comparable'",
    )
    noise = compare.add_mutually_exclusive_group()
    noise.add_argument(
        "--measure-noise",
        action="store_true",
        help="(re)measure this host's run-to-run noise floor (A/A runs of a tiny model, "
        "~30 s) and memoize it in the cache dir",
    )
    noise.add_argument(
        "--no-measure-noise",
        action="store_true",
        help="use only a memoized noise floor; never measure one (say it is missing)",
    )
    compare.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where the noise floor is memoized (default: $OVRUN_CACHE_DIR or the user cache dir)",
    )
    add_json(compare)


def cmd_report(args: argparse.Namespace) -> int:
    from runner.core.atomic import write_text_atomic
    from runner.core.errors import OvrunError
    from runner.report.html import render
    from runner.report.load import load_results

    doc = load_results(args.run_dir)
    run_dir = Path(args.run_dir)
    out = (
        Path(args.out)
        if args.out
        else (run_dir if run_dir.is_dir() else run_dir.parent) / "report.html"
    )
    try:
        previous = out.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # no page yet (or not ours): draw every chart
        previous = None
    try:
        page = render(doc, previous)
    except (KeyError, TypeError, ValueError) as exc:  # valid by the schema, yet not renderable
        raise OvrunError(
            f"{args.run_dir}: results.json cannot be rendered ({type(exc).__name__}: {exc})",
            hint="run the recipe again with this ovrun to write a complete results.json",
        ) from None
    write_text_atomic(out, page)
    console().print(f"report: {out}", highlight=False)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    import sys

    from runner.cache.store import default_cache_dir
    from runner.report.compare import comparison, load_results, print_comparison, resolve_floor

    allowed = _allowed(args.allow_different)
    cache_root = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    measure = "force" if args.measure_noise else "never" if args.no_measure_noise else "auto"
    a, b = load_results(args.run_a), load_results(args.run_b)
    out = console()

    def log(message: str) -> None:  # progress of a floor measurement; stderr keeps --json clean
        print(message, file=sys.stderr, flush=True)

    from runner.executor.host_lock import host_turn

    # a floor measured while a benchmark runs measures the contention: take the host lock
    floor = resolve_floor(a, cache_root, measure, log=log, turn=lambda: host_turn(exclusive=True))
    doc = comparison(a, b, floor, allowed)
    if args.json:
        import json

        print(json.dumps({"a": args.run_a, "b": args.run_b, **doc}, indent=1, default=str))
        return 0
    print_comparison(doc, a, args.run_a, args.run_b, out)
    return 0


def _allowed(value: str) -> set[str]:
    from runner.core.errors import OvrunError
    from runner.report.comparable import BLOCKING

    kinds = {k.strip() for k in value.split(",") if k.strip()}
    if "all" in kinds:
        return set(BLOCKING)
    unknown = sorted(kinds - set(BLOCKING))
    if unknown:
        raise OvrunError(
            f"--allow-different: unknown kind {unknown[0]!r}",
            hint=f"choose from {', '.join(BLOCKING)} (or all)",
        )
    return kinds
