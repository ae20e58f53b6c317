"""Copy the deploy tasks' cached outputs into ``<run out>/deploy/``, replacing it whole.

Layout written (only the formats the recipe asks for):
    deploy/optimum/<variant>/          OVModelFor*.from_pretrained(...) loads it
    deploy/ovms/config.json            model_config_list with every deployed variant
    deploy/ovms/<name>/1/model.xml|bin
    deploy/ovms/README.md              the `ovms --config_path` command
    deploy/<name>.tar.gz               bundle with manifest.json; `ovrun verify` checks it
The new tree is assembled in a temp dir inside the run dir and renamed into place, so a
reader sees the old deploy dir or the new one, never a mix.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

OVMS_README = """\
# OpenVINO Model Server repository

Written by ovrun for recipe `{recipe}`. Models: {models}.

```bash
# binary package
ovms --config_path {here}/config.json --port 9000 --rest_port 8000
# or the container
docker run --rm -v {here}:/models -p 9000:9000 -p 8000:8000 \\
  openvino/model_server:latest --config_path /models/config.json --port 9000 --rest_port 8000
```

`base_path` entries are relative to config.json, so the directory can be moved as a whole.
"""


def materialize(
    out_dir: Path, recipe: str, deploys: list[tuple[dict[str, Any], Path]]
) -> Path | None:
    """``deploys``: (task params, cached out dir) per deployed variant. Returns deploy/, or
    None when there is nothing to deploy: then a deploy/ of an earlier run is removed, so the
    run dir never offers a variant this run held back."""
    out_dir = out_dir.resolve()
    final = out_dir / "deploy"
    if not deploys:
        if final.exists():
            _swap(None, final)
        return None
    tmp = out_dir / f".deploy.tmp-{uuid.uuid4().hex}"
    try:
        tmp.mkdir(parents=True)
        entries = []
        for params, src in deploys:
            formats, name = params["formats"], params["model_name"]
            if "optimum" in formats:
                shutil.copytree(src / "optimum", tmp / "optimum" / params["variant"])
            if "ovms" in formats:
                shutil.copytree(src / "ovms" / name, tmp / "ovms" / name)
                entries.append(json.loads((src / "ovms" / f"{name}.entry.json").read_text()))
            if "bundle" in formats:
                shutil.copy2(src / "bundle.tar.gz", tmp / f"{name}.tar.gz")
        if entries:
            config = {"model_config_list": entries}
            (tmp / "ovms" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
            models = ", ".join(e["config"]["name"] for e in entries)
            readme = OVMS_README.format(recipe=recipe, models=models, here=final / "ovms")
            (tmp / "ovms" / "README.md").write_text(readme, encoding="utf-8")
        _swap(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _swap(new: Path | None, final: Path) -> None:
    old = final.with_name(f".deploy.old-{uuid.uuid4().hex}")
    if final.exists():
        final.rename(old)
    if new is not None:
        new.rename(final)
    shutil.rmtree(old, ignore_errors=True)
