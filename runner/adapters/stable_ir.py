"""Saving an OpenVINO IR so that the same graph always gives the same bytes.

OpenVINO names every node created without a friendly name ``<Type>_<n>`` from a
process-global counter, and the serializer writes that name into the .xml. The same
compression run in a fresh process, after another task in a long-lived one or on a Dask
worker therefore wrote different files for one cache key (``Convert_262858`` vs
``Convert_18753``), and a lock's digests depended on who built the entry. Before every
save, nodes (and the model) that still carry such an automatic name get one derived
from their position in the graph's topological order instead; names a frontend, NNCF or
an upstream IR gave them are kept. An IR another library saved (optimum's exporter) has
the counter's names baked in: it is read back and names of that form are replaced.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_AUTO_MODEL_NAME = re.compile(r"^Model\d+$")


def stabilize_names(model: Any, saved_elsewhere: bool = False) -> int:
    """Rename every node whose name is OpenVINO's automatic one; returns how many.

    In a model built in this process a node has an automatic name when its friendly name
    is its unique name (nothing ever set it). A model read from an IR another library
    saved has only explicit names; there (``saved_elsewhere``) a name of the counter's
    form, ``<an op type>_<digits>`` with any suffix (``Constant_3_compressed``, which fp16
    compression derives from it), counts as automatic. The new name is
    ``<Type>_<position>``, unique within the model."""
    ops = list(model.get_ordered_ops())
    kinds = {op.get_type_name() for op in ops} if saved_elsewhere else set()
    auto = [_is_auto(op, kinds) for op in ops]
    taken = {op.get_friendly_name() for op, is_auto in zip(ops, auto, strict=True) if not is_auto}
    renamed = 0
    for position, (op, is_auto) in enumerate(zip(ops, auto, strict=True)):
        if not is_auto:
            continue
        name = f"{op.get_type_name()}_{position}"
        suffix = 0
        while name in taken:  # an upstream IR may hold a node of that name already
            suffix += 1
            name = f"{op.get_type_name()}_{position}_{suffix}"
        taken.add(name)
        _rename(op, name)
        renamed += 1
    if _AUTO_MODEL_NAME.match(model.get_friendly_name()):
        model.set_friendly_name("Model0")
    return renamed


def _rename(op: Any, name: str) -> None:
    """Set the friendly name, and carry it into tensor names that were the old one: ov.Model
    names an unnamed output tensor after its Result's automatic name (``Result_617``)."""
    old = {op.get_name(), op.get_friendly_name()}
    tensors = [op.output(i).get_tensor() for i in range(op.get_output_size())]
    if op.get_type_name() == "Result":
        tensors.append(op.input_value(0).get_tensor())
    for tensor in tensors:
        names = tensor.get_names()
        if names & old:
            tensor.set_names({name if n in old else n for n in names})
    op.set_friendly_name(name)


def _is_auto(op: Any, counter_kinds: set[str]) -> bool:
    """``counter_kinds``: op types whose ``<type>_<digits>...`` names count as automatic."""
    name = op.get_friendly_name()
    if name == op.get_name():
        return True
    kind, _, rest = name.partition("_")
    return kind in counter_kinds and rest.split("_")[0].isdigit()


def save_stable(
    model: Any, xml: Path, compress_to_fp16: bool = False, saved_elsewhere: bool = False
) -> None:
    """``ov.save_model`` after :func:`stabilize_names`. fp16 compression stays off by
    default: it would change the weights a second time behind the user's back."""
    import openvino as ov

    stabilize_names(model, saved_elsewhere)
    ov.save_model(model, xml, compress_to_fp16=compress_to_fp16)


def restabilize(xml: Path) -> None:
    """Rewrite an IR another library saved (optimum's exporter, openvino-tokenizers) with
    stable names, in place. The weights are written again unchanged."""
    import openvino as ov

    model = ov.Core().read_model(xml)
    tmp = xml.with_name(f".stable-{xml.name}")
    save_stable(model, tmp, saved_elsewhere=True)
    del model  # release the mmap of the old .bin before replacing it
    tmp.replace(xml)
    tmp.with_suffix(".bin").replace(xml.with_suffix(".bin"))


def relabel_rt_path(model: Any, rt_path: list[str], local: Path, label: str) -> None:
    """Replace a machine-local path NNCF recorded in the model's rt_info by ``label``.

    NNCF stores its advanced parameters as text, statistics_path included: a cache dir
    path that differs between machines and cache locations for one and the same key."""
    if not model.has_rt_info(rt_path):
        return
    text = model.get_rt_info(rt_path).value
    if isinstance(text, str) and str(local) in text:
        model.set_rt_info(text.replace(str(local), label), rt_path)
