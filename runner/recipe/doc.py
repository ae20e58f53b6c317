"""What a loaded recipe is: its data plus the line:col of every value and key, and the limits
the YAML reader enforces (recipe/yaml_doc.py). Kept apart from the reader so that code which
only handles a RecipeDoc never imports yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.confine import ReadScope
from runner.core.errors import Location, OvrunError

MAX_BYTES = 1_000_000  # a recipe is a page of YAML; anything this large is a mistake or an attack
MAX_NODES = 100_000  # counts nodes after alias expansion: stops "billion laughs"
MAX_DEPTH = 64

Path_ = tuple[Any, ...]  # a path into the data: keys and list indexes


@dataclass
class RecipeDoc:
    """Parsed YAML plus where each value (and each mapping key) sits in the file."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # File of each node that came from another file (extends: bases, --set); others: ``file``.
    files: dict[Path_, str] = field(default_factory=dict)
    # Where the recipe may make ovrun read (set by compose from the user's grants).
    reads: ReadScope | None = None

    @property
    def base_dir(self) -> Path:
        return Path(self.file).resolve().parent

    @property
    def read_scope(self) -> ReadScope:
        if self.reads is None:
            self.reads = ReadScope.for_recipe(self.file)
        return self.reads

    def confined(self, path: Path_, value: str, what: str) -> Path:
        """The file or directory ``value`` (the string at ``path``, relative to the recipe
        file) names; refused at its position unless it resolves inside the read scope."""
        return self.read_scope.check(value, self.base_dir, what, self.location(path))

    def location(self, path: Path_, *, key: bool = False) -> Location:
        """Position of ``path``'s value (or its key with ``key=True``); for a path that is not
        in the file, the key of its closest existing parent."""
        probe = tuple(path)
        exact = True
        while True:
            prefer_key = key or not exact
            for table in (self.key_positions, self.positions) if prefer_key else (self.positions,):
                if probe in table:
                    line, col = table[probe]
                    file = self.files.get(probe, self.file)
                    # line 0: a value from the command line (--set), which has no line
                    return Location(file, line, col) if line else Location(file)
            if not probe:
                return Location(self.file, 1, 1)
            probe = probe[:-1]
            exact = False


def _too_large(file: str, size: int) -> OvrunError:
    return OvrunError(
        f"recipe is {size} bytes, over the {MAX_BYTES} byte limit",
        hint="a recipe is a short YAML file; split it or use extends:",
        location=Location(file, 1, 1),
    )
