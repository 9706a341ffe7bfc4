"""Checks of layer arguments shared by every layer, so their messages read alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from minidl.init import INIT_SCHEMES

if TYPE_CHECKING:
    from minidl.module import Module


def integer_argument(name: str, value: object, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def init_scheme(init: str) -> str:
    """``init`` if it names a scheme of ``minidl.init``, else a ValueError listing them."""
    if init not in INIT_SCHEMES:
        raise ValueError(f"unknown init {init!r}; expected one of {', '.join(INIT_SCHEMES)}")
    return init


def not_in_place(module: Module, inplace: bool) -> bool:
    """``inplace`` if False; minidl layers never overwrite their input (torch's inplace=True)."""
    if inplace:
        raise ValueError(
            f"{type(module).__name__}: inplace=True is not supported; minidl layers never "
            "overwrite their input (the step engine rewrites ops in place where it is safe)"
        )
    return False
