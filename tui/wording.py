"""Small helpers for the lab's status lines."""

from __future__ import annotations


def count(number: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``, ``0 epochs``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
