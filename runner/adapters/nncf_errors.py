"""NNCF's own validation errors, turned into errors the user can act on (exit 2)."""

from __future__ import annotations

import math
import re

from runner.core.errors import OvrunError


def nncf_failure(error: Exception, op: str) -> OvrunError:
    """NNCF's own validation errors are parameter mistakes the user can fix."""
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    hint = _group_size_hint(str(error)) or (
        f"adjust the {op} parameters in the recipe (see the NNCF documentation of {op})"
    )
    return OvrunError(f"{op}: NNCF rejected the parameters: {first_line}", hint=hint)


def _group_size_hint(message: str) -> str | None:
    """For a group size that does not divide some layers, name a size that divides all."""
    sizes = sorted({int(size) for size in re.findall(r"channel size: (\d+)", message)})
    if not sizes:
        return None
    divisor = math.gcd(*sizes)
    # Layers that passed divide the asked size, a power of two, so they divide this one too.
    power_of_two = divisor & -divisor
    advice = f"try group_size: {power_of_two} or -1" if power_of_two > 1 else "use group_size: -1"
    failing = ", ".join(map(str, sizes))
    return f"group_size must divide every layer's input channels ({failing} fail here); {advice}"


def nncf_user_errors() -> tuple[type[Exception], ...]:
    import nncf

    return (
        nncf.ValidationError,
        nncf.ParameterNotSupportedError,
        nncf.InvalidGroupSizeError,
        nncf.UnsupportedModelError,
    )
