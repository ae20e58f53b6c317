"""`ovrun RECIPE` builds only the `run` subparser (cli/main._parser("run")); it must parse,
print help and fail exactly as the full parser does."""

from __future__ import annotations

import contextlib
import io

import pytest

from runner.cli.main import _parser


def _parse(command: str | None, argv: list[str]) -> tuple[str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = repr(sorted(vars(_parser(command).parse_args(argv)).items()))
        except SystemExit as exc:
            result = f"exit {exc.code}"
    return result, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "r.yaml", "--out", "o", "--force", "--only", "export", "--set", "a=1"],
        ["run", "r.yaml", "--executor", "dask", "--workers", "2", "--keep-going"],
        ["run", "--help"],
        ["run"],
        ["run", "r.yaml", "--executor", "daskk"],
        ["run", "r.yaml", "--bogus"],
    ],
)
def test_the_run_parser_is_the_full_parsers_run(argv: list[str]) -> None:
    assert _parse("run", argv) == _parse(None, argv)
