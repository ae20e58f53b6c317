"""Fuzzing the front half (load, schema, references, plan, keys) with hypothesis: whatever the
recipe text, `ovrun validate` and `ovrun plan` return 0, 1 or 2, no exception escapes main(),
and every refusal is one `FILE:LINE:COL: error:` line and one `hint:` line.

Examples in all (split over the three generators): OVRUN_FUZZ_PROFILE=ci (default, 2000),
nightly (100000) or dev (150)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.cli.main import main

_COMMON = {
    "deadline": None,
    "database": None,  # no .hypothesis/ dir in the checkout; failures print their example
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
TOTALS = {"ci": 2000, "nightly": 100_000, "dev": 150}
PROFILE = os.environ.get("OVRUN_FUZZ_PROFILE", "ci")
for _name, _total in TOTALS.items():
    settings.register_profile(f"ovrun-fuzz-{_name}", max_examples=_total, **_COMMON)
FUZZ = settings.get_profile(f"ovrun-fuzz-{PROFILE}")


def share(fraction: float) -> settings:
    """This generator's part of the profile's examples."""
    return settings(FUZZ, max_examples=max(10, int(FUZZ.max_examples * fraction)))


pytestmark = pytest.mark.slow  # ~1-3 minutes in all on a busy 2-core machine

# One work dir for the whole module: hypothesis runs each test body thousands of times.
WORK = Path(tempfile.mkdtemp(prefix="ovrun-fuzz-"))
(WORK / "model").mkdir()
(WORK / "model" / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
(WORK / "model" / "weights.bin").write_bytes(b"\x00" * 64)
(WORK / "calib.txt").write_text("one sample\ntwo samples\n", encoding="utf-8")
RECIPE = WORK / "fuzz.yaml"
CACHE = WORK / "cache"

SEED = """\
version: 1
name: fuzz
description: seed recipe
model:
  source: {path: model}
  task: feature-extraction
  weight_format: fp32
data:
  calib: {text: calib.txt, samples: 2, seed: 0, shuffle: false, max_length: 16}
variants:
  fp32: {}
  int8:
    quantize: {dataset: calib, preset: mixed, model_type: transformer, subset_size: 2}
  w4:
    compress_weights: {mode: int4_sym, ratio: 0.8, group_size: 16}
targets:
  devices: [CPU, GPU]
  hints: [LATENCY, THROUGHPUT]
  properties: {NUM_STREAMS: 1}
benchmark: {duration_s: 1, warmup: 1, batch: 1, seq_len: 16}
evaluate: {dataset: calib, reference: fp32, max_drop: 0.02}
"""

ERROR_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: \S")


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))  # an exception escaping main() fails the example
    return rc, out.getvalue(), err.getvalue()


def check(text: str | bytes) -> None:
    if isinstance(text, str):
        RECIPE.write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        RECIPE.write_bytes(text)
    for argv in (("validate", str(RECIPE)), ("plan", str(RECIPE), "--cache-dir", str(CACHE))):
        rc, out, err = run_cli(*argv)
        assert rc in (0, 1, 2), (argv[0], rc, err)
        assert "Traceback" not in out + err
        assert "root:x:0:0" not in out + err  # /etc/passwd, which hostile recipes name
        if rc == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 2, (argv[0], lines)
            assert ERROR_LINE.match(lines[0]), (argv[0], lines)
            assert lines[1].startswith("hint: ") and len(lines[1]) > 6, (argv[0], lines)
        if rc == 2 and argv[0] == "validate":
            return  # plan would refuse the same recipe the same way


def test_seed_recipe_is_valid():
    # the mutation tests start from a recipe that passes, so they explore near-valid input
    RECIPE.write_text(SEED, encoding="utf-8")
    rc, out, err = run_cli("validate", str(RECIPE))
    assert rc == 0, err
    rc, out, err = run_cli("plan", str(RECIPE), "--cache-dir", str(CACHE))
    assert rc == 0, err
    assert "will run" in out


# -- text mutations of the seed -------------------------------------------------------------

YAML_TOKENS = st.sampled_from(list(":-[]{},&*!|>'\"#%@`?~\t\n ") + ["  ", "\n  ", "0", "a", "é"])
SEED_LINES = SEED.splitlines(keepends=True)


@st.composite
def mutated_seed(draw) -> str:
    text = SEED
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "dup_line", "drop_line"]))
        pos = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = (
                text[:pos]
                + "".join(draw(st.lists(YAML_TOKENS, min_size=1, max_size=4)))
                + text[pos:]
            )
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            text = text[:pos] + draw(st.text(min_size=1, max_size=3)) + text[pos + 1 :]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "dup_line":
                lines.insert(draw(st.integers(0, len(lines))), lines[i])
            else:
                del lines[i]
            text = "".join(lines)
    return text


@share(0.4)
@given(mutated_seed())
def test_mutated_seed_text(text):
    check(text)


# -- structured recipes: right keys, wrong values; wrong keys, right values --------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["fp32", "calib", "CPU", "GPU", "LATENCY", "int4_sym", "model", "calib.txt", "../x", "/"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["dataset", "mode"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


def _mutate_tree(draw, node, depth=0):
    """Walk the seed's data and, at random places, swap values, drop keys or add junk keys."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            choice = draw(st.integers(0, 9))
            if choice == 0:
                continue  # drop
            if choice == 1:
                out[key] = draw(VALUES)  # wrong value
            else:
                out[key] = _mutate_tree(draw, value, depth + 1)
        if draw(st.integers(0, 5)) == 0:
            out[draw(st.text(min_size=1, max_size=10))] = draw(VALUES)  # unknown key
        return out
    if isinstance(node, list):
        items = [_mutate_tree(draw, v, depth + 1) for v in node]
        if draw(st.booleans()) and items:
            items.append(items[0])  # duplicate
        return items
    return draw(VALUES) if draw(st.integers(0, 6)) == 0 else node


@st.composite
def structured_recipe(draw) -> str:
    data = _mutate_tree(draw, yaml.safe_load(SEED))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@share(0.3)
@given(structured_recipe())
def test_structured_recipes(text):
    check(text)


# -- hostile values where a recipe names files, properties and expressions ---------------------

# What an attacker writes: NUL bytes, names past NAME_MAX, escapes out of the project, kernel
# file systems, ANSI escapes, path-valued properties, expressions deeper than any parser stack.
HOSTILE = st.one_of(
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=6), st.text(max_size=6)),
    st.integers(250, 600).map(lambda n: "d/" + "x" * n + ".txt"),
    st.integers(1, 5000).map(lambda n: "a/" * n + "b"),
    st.integers(20, 400).map(lambda n: "(" * n + "fp32.size_mb < 1" + ")" * n),
    st.integers(20, 3000).map(lambda n: "not " * n + "fp32.size_mb < 1"),
    st.integers(20, 2000).map(lambda n: " + ".join(["fp32.size_mb"] * n) + " < 1"),
    st.sampled_from(
        [
            "/etc/passwd",
            "../../../../../../etc/passwd",
            "/proc/self/environ",
            "/proc/self/root/etc/passwd",
            "/dev/zero",
            "/",
            ".",
            "..",
            "model/../../x",
            "\x1b[31mred\x1b[0m",
            "calib.txt\r\nforged: line",
        ]
    ),
    st.text(max_size=20),
)
_MODEL_SOURCES = (
    lambda v: {"path": v},
    lambda v: {"onnx": v},
    lambda v: {"ir": v},
    lambda v: {"hf": v},
    lambda v: {"hf": "org/m", "revision": v},
    lambda v: {"package": v},
    lambda v: {"random": {"config": v, "tokenizer": "model"}},
    lambda v: {"random": {"config": {"model_type": "bert"}, "tokenizer": v}},
)
_DATA_KINDS = ("text", "jsonl", "csv", "tsv", "parquet", "datasets_dir", "npz")


@st.composite
def hostile_recipe(draw) -> str:
    data = yaml.safe_load(SEED)
    for _ in range(draw(st.integers(1, 3))):
        value = draw(HOSTILE)
        place = draw(st.sampled_from(["source", "data", "extends", "assert", "property", "device"]))
        if place == "source":
            data["model"]["source"] = draw(st.sampled_from(_MODEL_SOURCES))(value)
        elif place == "data":
            data["data"]["calib"] = {draw(st.sampled_from(_DATA_KINDS)): value, "samples": 2}
        elif place == "extends":
            data["extends"] = value
        elif place == "assert":
            data["assert"] = [value]
        elif place == "property":
            section = draw(st.sampled_from(["targets", "evaluate"]))
            name = draw(st.sampled_from(["CACHE_DIR", "WEIGHTS_PATH", "NUM_STREAMS", "X_DIR"]))
            data[section]["properties"] = {name: value}
        else:
            data["targets"]["devices"] = [value]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@share(0.15)
@given(hostile_recipe())
def test_hostile_values(text):
    check(text)


# -- anything at all -------------------------------------------------------------------------


@share(0.15)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_bytes_and_text(data):
    check(data)
