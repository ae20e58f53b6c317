"""Adapters: the only modules that import openvino, nncf, torch, transformers or optimum.

Each op in :mod:`runner.plan.ops` names one adapter function ``run(ctx: TaskContext) -> dict``.
The function reads its upstream artifacts from ``ctx.inputs`` and its input files from
``ctx.files``, writes every output below ``ctx.out`` (a fresh temp dir that the executor
publishes atomically after a clean return), and returns a JSON-able summary that the
executor stores as ``out/result.json``.

Conventions shared by all adapters:
- A model-producing op writes an optimum-intel style directory at ``out/model/``:
  ``openvino_model.xml`` + ``.bin``, ``config.json`` and the tokenizer files.
- A dataset op writes ``out/samples.npz`` (see :mod:`runner.adapters.dataset`).
- Errors the user can fix raise :class:`runner.core.errors.OvrunError` (exit 2, one line).
"""

from runner.core import telemetry as _telemetry

_telemetry.disable()  # also in Dask workers, which import adapters without runner.cli.main
