"""What the commands share: the cache and recipe options, --only, the console."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.core.confine import Grants


def add_cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="cache location (default: $OVRUN_CACHE_DIR or the user cache dir)",
    )
    p.add_argument(
        "--cache",
        metavar="URL",
        dest="remote",
        help="shared cache (dir or fsspec URL; default: $OVRUN_CACHE): pull hits, push new entries",
    )
    p.add_argument(
        "--trusted-key",
        action="append",
        default=[],
        dest="trusted_keys",
        metavar="FILE",
        help="trust shared-cache entries signed by this .pub key (repeatable; also "
        "$OVRUN_TRUSTED_KEYS); unsigned or badly signed entries are rebuilt here",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="sets",
        metavar="PATH=VALUE",
        help="override a recipe value, e.g. --set benchmark.duration_s=2 (typed by the schema)",
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        dest="params",
        metavar="NAME=VALUE",
        help="set a parameter declared under params: (used as ${NAME} in the recipe)",
    )
    add_read_options(p)


def add_read_options(p: argparse.ArgumentParser) -> None:
    """What only the person running ovrun may allow, never the recipe."""
    p.add_argument(
        "--allow-read",
        action="append",
        default=[],
        metavar="DIR",
        help="let the recipe read below DIR too (repeatable; also $OVRUN_ALLOW_READ); by default "
        "it reads only inside its project: the git work tree or the recipe's directory",
    )
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="accept a model whose only weights are pickles (loading them can run code)",
    )


def read_grants(args: argparse.Namespace) -> Grants:
    from runner.core.confine import Grants

    return Grants.from_user(args.allow_read, args.allow_pickle)


def recipe_opts(args: argparse.Namespace) -> dict[str, Any]:
    """--set / --param / --cache / --allow-* as open_session keyword arguments."""
    from runner.cache.remote import open_remote, remote_url
    from runner.recipe.compose import Overrides

    return {
        "overrides": Overrides(list(args.sets), list(args.params)),
        "remote": open_remote(remote_url(args.remote), getattr(args, "trusted_keys", None)),
        "grants": read_grants(args),
    }


def add_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="TASK",
        help="run only these tasks (ids or globs, e.g. export, 'compress:*') and what they need",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout instead of text (same exit codes)",
    )


def console() -> Any:
    """rich's console, created when something needs it (report/console.py)."""
    from runner.report.console import RunConsole

    return RunConsole()
