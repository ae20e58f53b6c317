import subprocess
import sys

import pytest
from recipes_util import REPO, minimal_recipe, ovrun, write

HEAVY = ("openvino", "nncf", "torch", "transformers", "networkx", "optimum", "vl_convert")


def _imported_after(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\nprint('HEAVY:' + ' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1].removeprefix("HEAVY:").split()


def test_cli_module_imports_nothing_heavy():
    assert _imported_after("import runner.cli.main") == []


def test_validate_imports_nothing_heavy(tmp_path):
    recipe = minimal_recipe(tmp_path)
    code = f"from runner.cli.main import main\nassert main(['validate', {str(recipe)!r}]) == 0"
    assert _imported_after(code) == []


def test_plan_imports_no_ml_library(tmp_path):
    recipe = minimal_recipe(tmp_path)
    code = f"from runner.cli.main import main\nassert main(['plan', {str(recipe)!r}, '--cache-dir', {str(tmp_path / 'c')!r}]) == 0"
    assert [m for m in _imported_after(code) if m != "networkx"] == []


def test_help_lists_commands():
    result = ovrun("--help")
    assert result.returncode == 0
    for command in ("run", "validate", "plan", "graph", "explain"):
        assert command in result.stdout


def test_validate_misspelled_key_one_line_and_hint(tmp_path):
    recipe = minimal_recipe(tmp_path)
    recipe.write_text(recipe.read_text().replace("variants:", "varaints:"))
    result = ovrun("validate", str(recipe))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    line_no = recipe.read_text().splitlines().index("varaints:") + 1
    assert lines[0] == f"{recipe}:{line_no}:1: error: unknown key 'varaints' in the top level"
    assert lines[1] == "hint: did you mean 'variants'?"
    assert len(lines) == 2 and "Traceback" not in result.stderr


def test_validate_invalid_yaml(tmp_path):
    bad = write(tmp_path / "bad.yaml", "version: 1\nname: [x\nmodel: {}\n")
    result = ovrun("validate", str(bad))
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{bad}:") and ": error: invalid YAML" in first
    assert result.stderr.splitlines()[1].startswith("hint:")


def test_run_shorthand_and_missing_file(tmp_path):
    result = ovrun(str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "error: recipe file not found" in result.stderr and "Traceback" not in result.stderr


def test_unknown_force_task(tmp_path):
    recipe = minimal_recipe(tmp_path)
    result = ovrun(
        "run", str(recipe), "--cache-dir", str(tmp_path / "c"), "--force", "compress:int9"
    )
    assert result.returncode == 2
    assert "did you mean 'compress:int8'" in result.stderr


def test_explain_unknown_task_suggests(tmp_path):
    recipe = minimal_recipe(tmp_path)
    result = ovrun("explain", str(recipe), "exprot", "--cache-dir", str(tmp_path / "c"))
    assert result.returncode == 2 and "did you mean 'export'" in result.stderr


@pytest.mark.parametrize("fmt, needle", [("dot", "digraph"), ("mermaid", "flowchart LR")])
def test_graph_command(tmp_path, fmt, needle):
    recipe = minimal_recipe(tmp_path)
    result = ovrun("graph", str(recipe), "--format", fmt, "--cache-dir", str(tmp_path / "c"))
    assert result.returncode == 0 and result.stdout.startswith(needle)


def test_plan_on_quickstart_shows_one_export(tmp_path):
    result = ovrun("plan", "recipes/quickstart.yaml", "--cache-dir", str(tmp_path / "c"))
    assert result.returncode == 0, result.stderr
    ids = [
        line.split()[1]
        for line in result.stdout.splitlines()
        if line[:12].strip() and len(line.split()) > 1
    ]
    assert ids.count("export") == 1
    assert sum(1 for i in ids if i.startswith("compress:")) == 2
