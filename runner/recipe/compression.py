"""Cross-field checks of compression options the schema cannot express, at recipe load time.

Everything here runs before any model is loaded, so an impossible combination is an exit-2
error pointing at its recipe line, not a failure minutes into a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.core.errors import OvrunError

if TYPE_CHECKING:
    from runner.recipe.spec import Recipe, VariantSpec

DATA_AWARE = ("awq", "scale_estimation", "gptq", "lora_correction")
DATA_METRICS = (
    "hessian_input_activation",
    "mean_activation_variance",
    "max_activation_variance",
    "mean_activation_magnitude",
)
# Per-channel INT8 modes: NNCF ignores ratio/group_size and rejects data-aware options there
# (fp8_e4m3 and mxfp8_e4m3 are group-wise and take them).
EIGHT_BIT = ("int8_sym", "int8_asym")
ACCURACY_CONTROL_METRIC = {"feature-extraction": "cosine", "text-generation": "top1_agreement"}
# Tasks QAT has a distillation loss for (runner.adapters.distill): embeddings or logits.
QAT_TASKS = ("feature-extraction", "text-classification", "text-generation")
# Sources that carry PyTorch weights for QAT to train (onnx: and ir: hold a graph only).
QAT_SOURCES = ("path", "package", "hf", "random")


def check_compression(recipe: Recipe) -> None:
    for name, variant in recipe.variants.items():
        if variant.compress_weights is not None:
            _check_weights(recipe, name, variant.compress_weights)
        if variant.quantize is not None:
            _check_accuracy_control(recipe, name, variant.quantize)
        if variant.search is not None:
            _check_search(recipe, name, variant)
        if variant.qat is not None:
            _check_qat(recipe, name, variant)
    from runner.recipe.lint import check

    check(recipe)  # device lint: errors exit 2 here, warnings print


def _check_weights(recipe: Recipe, name: str, cw: dict[str, Any]) -> None:
    where = ("variants", name, "compress_weights")
    mode = cw.get("mode", "int8_asym")
    for option in DATA_AWARE:
        if not cw.get(option):
            continue
        if mode in EIGHT_BIT:
            raise OvrunError(
                f"{option} does not apply to mode {mode}: 8-bit modes compress every layer per channel",
                hint="use a sub-8-bit mode such as int4_sym, or remove the option",
                location=recipe.location(*where, option),
            )
        if not cw.get("dataset"):
            raise OvrunError(
                f"{option} is data-aware and needs a dataset",
                hint="add dataset: <name of a data: entry> to compress_weights",
                location=recipe.location(*where, option),
            )
    metric = cw.get("sensitivity_metric")
    if metric in DATA_METRICS and not cw.get("dataset"):
        raise OvrunError(
            f"sensitivity_metric {metric} needs activation statistics, so a dataset",
            hint="add dataset: <name>, or use sensitivity_metric: weight_quantization_error",
            location=recipe.location(*where, "sensitivity_metric"),
        )
    if not recipe.variants[name].search:  # a search's base options meet each candidate's mode
        _check_ignored(recipe, name, mode)


# What NNCF 3.4 does with an option the mode has no use for (check_user_compression_configuration
# and WeightCompression.apply): per-channel INT8 modes compress every layer in 8 bit, so there is
# no ratio, group, backup precision or layer selection; activation data is never read.
_IGNORED_BY_INT8 = {
    "ratio": lambda v: v != 1,
    "group_size": lambda v: v != -1,
    "all_layers": lambda v: v is not None,
    "sensitivity_metric": lambda v: v is not None,
    "backup_mode": lambda v: v is not None,
    "dataset": lambda v: v is not None,
    "subset_size": lambda v: v is not None,
}


def _check_ignored(recipe: Recipe, name: str, mode: str) -> None:
    """An option the chosen mode ignores is an error at its line: the run would otherwise
    report a compression the user did not ask for (``int8_asym`` with ``ratio: 0.5``)."""
    where = ("variants", name, "compress_weights")
    written = ((recipe.doc.data or {}).get("variants") or {}).get(name) or {}
    written = written.get("compress_weights") or {}
    if mode in EIGHT_BIT:
        for option, matters in _IGNORED_BY_INT8.items():
            if option in written and matters(written[option]):
                raise OvrunError(
                    f"{option} has no effect with mode {mode}: NNCF compresses every layer "
                    "per channel in 8 bit",
                    hint=f"remove {option}, or use a sub-8-bit mode such as int4_sym "
                    "(ratio, group_size and backup_mode choose its mixed precision)",
                    location=recipe.location(*where, option),
                )
        return
    ratio = written.get("ratio", 1)
    if "sensitivity_metric" in written and ratio == 1:
        # NNCF ranks layers by sensitivity only to pick which ones stay in backup precision
        raise OvrunError(
            f"sensitivity_metric has no effect with ratio 1: every eligible layer gets {mode}",
            hint="set ratio below 1 (e.g. 0.8) to mix precisions, or remove sensitivity_metric",
            location=recipe.location(*where, "sensitivity_metric"),
        )


def _check_accuracy_control(recipe: Recipe, name: str, q: dict[str, Any]) -> None:
    where = ("variants", name, "quantize")
    if q.get("max_drop") is None:
        for option in ("metric", "validation_dataset", "max_num_iterations"):
            if option in q:
                raise OvrunError(
                    f"{option} applies to accuracy-controlled quantization only",
                    hint="add max_drop: to quantize (e.g. max_drop: 0.01), or remove the option",
                    location=recipe.location(*where, option),
                )
        return
    if recipe.model.task not in ACCURACY_CONTROL_METRIC:
        raise OvrunError(
            f"accuracy-controlled quantization supports {', '.join(ACCURACY_CONTROL_METRIC)}, not {recipe.model.task}",
            hint="remove max_drop: from quantize and gate with evaluate.max_drop instead",
            location=recipe.location(*where, "max_drop"),
        )
    metric = q.get("metric") or ACCURACY_CONTROL_METRIC[recipe.model.task]
    if metric != ACCURACY_CONTROL_METRIC[recipe.model.task]:
        raise OvrunError(
            f"metric '{metric}' does not apply to task '{recipe.model.task}'",
            hint=f"use metric: {ACCURACY_CONTROL_METRIC[recipe.model.task]} (or leave it out)",
            location=recipe.location(*where, "metric"),
        )
    if q.get("mode"):
        raise OvrunError(
            "accuracy control works on INT8 quantization; NNCF does not restore FP8 models",
            hint="remove mode: or max_drop:",
            location=recipe.location(*where, "max_drop"),
        )


def _check_search(recipe: Recipe, name: str, variant: VariantSpec) -> None:
    where = ("variants", name, "search")
    if recipe.evaluate is None:
        raise OvrunError(
            "search needs an evaluate: block to measure each candidate's accuracy",
            hint="add evaluate: {dataset: <name>, reference: <uncompressed variant>}",
            location=recipe.location(*where, key=True),
        )
    if variant.quantize is not None:
        raise OvrunError(
            "search explores compress_weights options; this variant uses quantize",
            hint="put the fixed options under compress_weights: (or leave it out)",
            location=recipe.location(*where, key=True),
        )
    if name == recipe.evaluate.reference:
        raise OvrunError(
            "the evaluate reference cannot be a search variant",
            hint="compare against the uncompressed variant",
            location=recipe.location(*where, key=True),
        )
    search = variant.search
    axes = [k for k in ("mode", "ratio", "group_size", "awq", "scale_estimation") if k in search]
    if not axes:
        raise OvrunError(
            "search lists no candidate values",
            hint="add e.g. ratio: [0.6, 0.8, 1.0] and group_size: [32, 64]",
            location=recipe.location(*where, key=True),
        )
    base = variant.compress_weights or {}
    for option in ("awq", "scale_estimation"):
        if True in search.get(option, []) and not base.get("dataset"):
            raise OvrunError(
                f"search tries {option}, which needs a dataset",
                hint="add dataset: <name> under the variant's compress_weights",
                location=recipe.location(*where, option),
            )


def _check_qat(recipe: Recipe, name: str, variant: VariantSpec) -> None:
    where = ("variants", name, "qat")
    others = [k for k in ("quantize", "compress_weights", "search") if getattr(variant, k)]
    if others:
        raise OvrunError(
            f"a variant compresses one way: qat cannot stand beside {others[0]}",
            hint="put the initial quantization options under qat.init, or use two variants",
            location=recipe.location(*where, key=True),
        )
    if recipe.model.task not in QAT_TASKS:
        raise OvrunError(
            f"qat has a distillation loss for {', '.join(QAT_TASKS)}, not {recipe.model.task}",
            hint="use quantize: (post-training) for this task",
            location=recipe.location(*where, key=True),
        )
    if recipe.model.source.kind not in QAT_SOURCES:
        raise OvrunError(
            f"qat trains the PyTorch model; an {recipe.model.source.kind} source has no weights to train",
            hint=f"use a {', '.join(k + ':' for k in QAT_SOURCES)} source, or quantize: (post-training)",
            location=recipe.location(*where, key=True),
        )
