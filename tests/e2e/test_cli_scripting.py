"""The CLI in scripts and pipes: "did you mean" for commands, --json documents, and a quiet
exit when the reader of a pipe stops early."""

from __future__ import annotations

import json
import subprocess
import sys

from recipes_util import REPO, minimal_recipe, ovrun


def test_mistyped_command_suggests_the_right_one(tmp_path):
    result = ovrun("rnu", "x.yaml")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ovrun: error: unknown command 'rnu'",
        "hint: did you mean 'run'?",
    ]
    action = ovrun("cache", "lss", "--cache-dir", str(tmp_path))
    assert action.returncode == 2 and "did you mean 'ls'?" in action.stderr
    # a recipe path is still a recipe, even when its name is close to a command
    recipe = minimal_recipe(tmp_path, name="plna.yaml")
    assert "unknown command" not in ovrun("plna.yaml", cwd=recipe.parent).stderr


def test_plan_validate_explain_json(tmp_path):
    recipe = minimal_recipe(tmp_path)
    cache = str(tmp_path / "cache")
    plan = ovrun("plan", str(recipe), "--cache-dir", cache, "--json")
    assert plan.returncode == 0, plan.stderr
    doc = json.loads(plan.stdout)
    ids = [t["id"] for t in doc["tasks"]]
    assert ids[0] == "export" and "compress:int8" in ids
    assert doc["counts"]["run"] + doc["counts"]["skipped"] == len(ids)
    assert all(len(t["key"]) == 64 for t in doc["tasks"] if t["state"] != "skipped")

    valid = json.loads(ovrun("validate", str(recipe), "--json").stdout)
    assert valid == {"files": [{"file": str(recipe), "ok": True, "variants": 3, "devices": 2}]}

    explain = ovrun("explain", str(recipe), "compress:int8", "--cache-dir", cache, "--json")
    assert explain.returncode == 0, explain.stderr
    found = json.loads(explain.stdout)
    assert found["task"] == "compress:int8" and found["state"] == "run"
    assert found["preimage"]["op"] == "quantize" and found["last_key"] is None


def test_json_error_keeps_the_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nmodel: {source: {path: nowhere}}\nvariants: {a: {}}\n")
    result = ovrun("validate", str(bad), "--json")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["file"] == str(bad) and error["line"] == 3 and error["exit_code"] == 2
    assert result.stderr.startswith(f"{bad}:3:")


def _pipe_to_head(args: str) -> tuple[str, str, str]:
    """Run `ovrun ARGS | head -1` in bash; returns (head's output, ovrun's stderr, its exit)."""
    script = (
        f"{sys.executable} -m runner {args} 2>ovrun.err | head -1; "
        'echo "exit=${PIPESTATUS[0]}"; cat ovrun.err'
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    head, exit_line, *err = result.stdout.splitlines()
    return head, "\n".join(err), exit_line


def test_broken_pipe_is_quiet(tmp_path):
    # enough entries that `ls` is still writing when head has gone (a pipe buffers 64 KiB)
    objects = tmp_path / "cache" / "objects"
    for i in range(3000):
        key = f"{i:064x}"
        (objects / key[:2] / key).mkdir(parents=True)
        (objects / key[:2] / key / "meta.json").write_text(
            json.dumps({"task_id": f"bench:v{i}:CPU:LATENCY", "op": "benchmark", "published": i})
        )
    head, err, exit_line = _pipe_to_head(f"cache ls --cache-dir {tmp_path / 'cache'}")
    assert head.startswith(f"{0:064x}"[:16])
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert exit_line == "exit=141"


def test_explain_into_head_is_quiet(tmp_path):
    """The preimage of an export over a model dir of many files is longer than a pipe holds."""
    recipe = minimal_recipe(tmp_path)
    extra = recipe.parent / "model" / "extra"
    extra.mkdir(parents=True, exist_ok=True)
    for i in range(2500):
        (extra / f"shard-{i:05d}.txt").write_text(str(i))
    cache = tmp_path / "cache"
    head, err, exit_line = _pipe_to_head(f"explain {recipe} export --cache-dir {cache}")
    assert head.startswith("task export")
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert exit_line == "exit=141", err
