"""Where a recipe may make ovrun read, and where ovrun refuses to write.

Recipes are shared across teams, so a recipe is untrusted input. Every path a recipe names
must resolve, after following symlinks, inside its project root: the enclosing git work
tree, or the recipe's directory when there is none. Only the person running ovrun can widen
that, with ``--allow-read DIR`` or ``OVRUN_ALLOW_READ`` (``os.pathsep``-separated), never
the recipe itself. Outputs (run dir, logs, deploy dir, lock file) never go through a symlink.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runner.core.errors import Location, OvrunError

ENV_ALLOW_READ = "OVRUN_ALLOW_READ"
NAME_MAX = 255  # bytes per path component on Linux file systems
PATH_MAX = 4096
# Kernel views of processes and devices: reading there leaks the environment or blocks.
SPECIAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
WIDEN_HINT = (
    "a recipe reads only inside its project (the git work tree, or the recipe's directory); "
    f"copy the file in, or, if you trust it, run with --allow-read DIR (or {ENV_ALLOW_READ}=DIR)"
)


@dataclass(frozen=True)
class Grants:
    """What the person running ovrun allows beyond the defaults (never set by a recipe)."""

    allow_read: tuple[Path, ...] = ()
    allow_pickle: bool = False

    @classmethod
    def from_user(cls, allow_read: Iterable[str] = (), allow_pickle: bool = False) -> Grants:
        """``--allow-read`` values plus the ``OVRUN_ALLOW_READ`` environment variable."""
        from_env = [d for d in os.environ.get(ENV_ALLOW_READ, "").split(os.pathsep) if d]
        dirs = []
        for raw in [*from_env, *allow_read]:
            check_path_text(raw, "--allow-read")
            dirs.append(Path(raw).expanduser().resolve())
        return cls(tuple(dirs), allow_pickle)


def project_root(recipe_file: str | Path) -> Path:
    """The git work tree holding ``recipe_file`` (a ``.git`` dir, or file for worktrees and
    submodules), else the recipe's own directory."""
    here = Path(recipe_file).resolve().parent
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return here


@dataclass(frozen=True)
class ReadScope:
    """The roots one recipe may read below: its project root plus the user's grants."""

    root: Path
    grants: Grants = Grants()

    @classmethod
    def for_recipe(cls, recipe_file: str | Path, grants: Grants | None = None) -> ReadScope:
        return cls(project_root(recipe_file), grants or Grants.from_user())

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.root, *self.grants.allow_read)

    def allows(self, real: Path) -> bool:
        return any(real.is_relative_to(root) for root in self.roots)

    def check(self, value: str, base_dir: Path, what: str, where: Location | None = None) -> Path:
        """The resolved path ``value`` (relative to ``base_dir``) names, or an OvrunError at
        ``where`` when it is malformed, leaves the allowed roots, or is not a plain file or
        directory. Whether it exists is the caller's question (with its own message)."""
        check_path_text(value, what, where)
        try:
            real = (base_dir / value).resolve()
        except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop (Python 3.11)
            reason = getattr(err, "strerror", None) or "symlink loop"
            raise OvrunError(
                f"{what} {value!r} cannot be resolved ({reason})",
                hint="fix the path or the symlinks along it",
                location=where,
            ) from None
        if any(real == s or real.is_relative_to(s) for s in SPECIAL_ROOTS):
            raise OvrunError(
                f"{what} {value!r} resolves to {real}, a kernel or device file system",
                hint="recipes read regular files and directories only",
                location=where,
            )
        if not self.allows(real):
            raise OvrunError(
                f"{what} {value!r} resolves to {real}, outside the project {self.root}",
                hint=WIDEN_HINT,
                location=where,
            )
        _check_kind(real, value, what, where)
        if real.is_dir():
            _check_tree(real, what, where)
        return real


def check_path_text(value: str, what: str, where: Location | None = None) -> None:
    """Refuse what the OS would reject with a bare exception: NUL bytes, over-long names."""
    if "\x00" in value:
        raise OvrunError(
            f"{what} contains a NUL byte", hint="remove the \\0 from the path", location=where
        )
    longest = max((len(part.encode("utf-8", "replace")) for part in value.split("/")), default=0)
    if longest > NAME_MAX:
        raise OvrunError(
            f"{what} has a path component of {longest} bytes (the limit is {NAME_MAX})",
            hint="shorten the file or directory name",
            location=where,
        )
    if len(value.encode("utf-8", "replace")) >= PATH_MAX:
        raise OvrunError(
            f"{what} is longer than {PATH_MAX} bytes", hint="shorten the path", location=where
        )


def _check_kind(real: Path, value: str, what: str, where: Location | None) -> None:
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return  # the caller reports a missing file with its own words
    except OSError as err:
        raise OvrunError(
            f"cannot read {what} {value!r}: {err.strerror}",
            hint="check permissions",
            location=where,
        ) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise OvrunError(
            f"{what} {value!r} is a {_kind(mode)}, not a regular file or directory",
            hint="point it at a regular file (a FIFO or device could block or leak)",
            location=where,
        )


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def _check_tree(top: Path, what: str, where: Location | None) -> None:
    """A directory a loader will read must not link out of itself or hold special files."""
    for dirpath, dirnames, filenames in os.walk(top):
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            if path.is_symlink():
                try:
                    target = path.resolve()
                except (OSError, RuntimeError):
                    target = None
                if target is None or not target.is_relative_to(top):
                    raise OvrunError(
                        f"{what}: {path} is a symlink pointing outside {top}",
                        hint="copy the file into the directory instead of linking to it",
                        location=where,
                    )
                continue
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise OvrunError(
                    f"{what}: {path} is a {_kind(mode)}, not a regular file",
                    hint="remove it from the directory",
                    location=where,
                )


# -- writes -------------------------------------------------------------------------------------


def check_output_dir(out_dir: Path) -> None:
    """Refuse an output dir that is, or holds, a symlink: ovrun would write through it (a
    committed ``recipe.out -> /elsewhere`` or ``recipe.out/logs -> ...``)."""
    out_dir = Path(out_dir)
    check_path_text(str(out_dir), "output dir")
    if out_dir.is_symlink():
        raise OvrunError(
            f"output dir {out_dir} is a symlink (to {os.readlink(out_dir)}); ovrun does not "
            "write through symlinks",
            hint="remove the link, or pass --out DIR with a real directory",
        )
    if not out_dir.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(out_dir):
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            if path.is_symlink():
                raise OvrunError(
                    f"{path} inside the output dir is a symlink; ovrun does not write through "
                    "symlinks",
                    hint=f"remove the link (or the whole {out_dir}) and run again",
                )


def check_output_file(path: Path, what: str) -> None:
    """A file ovrun replaces (the lock file) must not be a symlink."""
    if Path(path).is_symlink():
        raise OvrunError(
            f"{what} {path} is a symlink; ovrun does not write through symlinks",
            hint="remove the link and run again",
        )
