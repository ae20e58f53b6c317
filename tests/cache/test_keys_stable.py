"""Task keys survive refactoring: the shipped recipes' keys, recorded with the code before the
stage-package layout (tests/cache/fixtures/keys_before_layout.json), are computed again here.

Library versions go into every key, so the recorded versions stand in for the installed ones:
what this guards is that ovrun itself derives the same keys from the same inputs. A key may
change only with a deliberate bump (KEY_SCHEMA, an op version), never by moving code.

Measuring tasks (`bench:` cells, `Op.measures`) are keyed on the hardware fingerprint of
the device they measure, read from the device probe memo: the fixture's recorded ``probe``
is written as this host's memo, so their keys are the same on every machine. Their keys
(and the report's, which holds theirs) were re-recorded when the fingerprint entered them.
Evaluations (op version 2: also under the deployed precision) and LLM generation cells (op
version 2: repeats) were re-recorded with their bumps; an evaluation is keyed on the precision
capabilities of its device, since its deployed-precision figures follow them. Export,
quantize, compress_weights (v3) and deploy (v2) were bumped when their IRs became
byte-identical per key (stable node names), which moves every key downstream of the export.
This test guards refactoring between such bumps: re-record only with one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cache import key as key_mod
from runner.host import devices as host_devices
from runner.session import open_session

ROOT = Path(__file__).resolve().parents[2]
RECORDED = json.loads((Path(__file__).parent / "fixtures" / "keys_before_layout.json").read_text())


@pytest.mark.parametrize("name", sorted(RECORDED["keys"]))
def test_recipe_keys_match_the_recorded_ones(name: str, tmp_path, monkeypatch) -> None:
    libs = RECORDED["libs"]
    monkeypatch.setattr(key_mod, "lib_version", lambda dist: libs.get(dist, "absent"))
    recipe, _, devices = name.partition("@")
    host_devices.remember(tmp_path / "cache", RECORDED["probe"])
    session = open_session(
        ROOT / "recipes" / f"{recipe}.yaml",
        tmp_path / "cache",
        probe_devices=False,
        devices=[devices] if devices else None,
    )
    keys = {task.id: task.key for task in session.plan.order()}
    assert keys == RECORDED["keys"][name]


def test_only_measuring_keys_depend_on_the_machine(tmp_path, monkeypatch) -> None:
    """Another CPU changes the CPU bench cells' keys (and the report's), nothing else: export,
    data and compress entries stay shareable, and the GPU's figures do not depend on the CPU."""
    libs = RECORDED["libs"]
    monkeypatch.setattr(key_mod, "lib_version", lambda dist: libs.get(dist, "absent"))
    other = json.loads(json.dumps(RECORDED["probe"]))
    other["host"]["cpu_model"] = other["devices"]["CPU"]["FULL_DEVICE_NAME"] = "Another CPU"
    host_devices.remember(tmp_path / "cache", other)
    session = open_session(
        ROOT / "recipes" / "quickstart.yaml", tmp_path / "cache", probe_devices=False
    )
    recorded = RECORDED["keys"]["quickstart"]
    differ = {t.id for t in session.plan.order() if t.key != recorded[t.id]}
    on_cpu = {t.id for t in session.plan.order() if t.op.measures and t.device == "CPU"}
    assert on_cpu and differ == on_cpu | {"report"}


def test_evaluations_follow_the_devices_precision_capabilities(tmp_path, monkeypatch) -> None:
    """A CPU that offers BF16 evaluates the deployed variant in bf16: its evaluations (and
    what reads them) re-key, while export, data and compress entries stay shareable."""
    libs = RECORDED["libs"]
    monkeypatch.setattr(key_mod, "lib_version", lambda dist: libs.get(dist, "absent"))
    other = json.loads(json.dumps(RECORDED["probe"]))
    capabilities = other["devices"]["CPU"]["OPTIMIZATION_CAPABILITIES"]
    other["devices"]["CPU"]["OPTIMIZATION_CAPABILITIES"] = [*capabilities, "BF16"]
    host_devices.remember(tmp_path / "cache", other)
    session = open_session(
        ROOT / "recipes" / "quickstart.yaml", tmp_path / "cache", probe_devices=False
    )
    recorded = RECORDED["keys"]["quickstart"]
    differ = {t.id for t in session.plan.order() if t.key != recorded[t.id]}
    evaluations = {t.id for t in session.plan.order() if t.op.name == "evaluate"}
    on_cpu = {t.id for t in session.plan.order() if t.op.measures and t.device == "CPU"}
    assert evaluations and differ == evaluations | on_cpu | {"report"}
