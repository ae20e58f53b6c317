"""OpenVINO property maps in a recipe may not name paths.

A property such as ``CACHE_DIR`` makes OpenVINO write (compiled blobs) or read (weights,
config files) wherever the value points, outside the project and the cache; ovrun sets the
ones it needs itself. Every property map the schema has (``targets``, ``evaluate``,
``deploy`` and any added later) is found through the schema: it is an object whose keys
follow OpenVINO's property-name pattern.
"""

from __future__ import annotations

from typing import Any

from runner.core.errors import OvrunError
from runner.recipe.compose import schema_at
from runner.recipe.load import Path_, RecipeDoc

PROPERTY_NAME_PATTERN = "^[A-Z][A-Z0-9_]*$"
# Known path-valued OpenVINO properties; any other name ending like these is treated alike.
PATH_PROPERTIES = frozenset({"CACHE_DIR", "WEIGHTS_PATH", "CONFIG_FILE", "BLOB_PATH"})
_PATH_SUFFIXES = ("_DIR", "_PATH", "_FILE", "_FILENAME")


def names_a_path(name: str) -> bool:
    return name in PATH_PROPERTIES or name.endswith(_PATH_SUFFIXES) or "DUMP" in name


def check_path_properties(doc: RecipeDoc, schema: dict) -> None:
    """Exit 2 at the key of the first path-valued property in any property map."""
    for path, props in _property_maps(doc.data, schema, ()):
        for name in props:
            if isinstance(name, str) and names_a_path(name):
                raise OvrunError(
                    f"property {name} names a path; recipes may not choose where OpenVINO "
                    "reads or writes files",
                    hint=f"remove {name}: ovrun manages the cache and model paths itself",
                    location=doc.location((*path, name), key=True),
                )


def _property_maps(data: Any, schema: dict | None, path: Path_):
    if not isinstance(data, dict) or not isinstance(schema, dict):
        return
    if schema.get("propertyNames", {}).get("pattern") == PROPERTY_NAME_PATTERN:
        yield path, data
        return
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _property_maps(value, schema_at(schema, (key,)), (*path, key))
