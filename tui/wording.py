"""Small helpers for the lab's status lines."""

from __future__ import annotations


def count(number: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``, ``0 epochs``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def folded_chain(names: list[str], longest_block: int = 4) -> str:
    """Layer names joined by arrows, each run of a repeated block written once with its
    count: ``(Linear 25 → ReLU) × 3 → Linear 2``, ``Tanh × 4``. At each position the
    block that covers the most layers is taken (the shorter block on a tie)."""
    parts: list[str] = []
    i = 0
    while i < len(names):
        best_length, best_times = 1, 1
        for length in range(1, longest_block + 1):
            block = names[i : i + length]
            times = 1
            while names[i + times * length : i + (times + 1) * length] == block:
                times += 1
            if times > 1 and length * times > best_length * best_times:
                best_length, best_times = length, times
        block = names[i : i + best_length]
        if best_times == 1:
            parts.append(block[0])
        elif best_length == 1:
            parts.append(f"{block[0]} × {best_times}")
        else:
            parts.append(f"({' → '.join(block)}) × {best_times}")
        i += best_length * best_times
    return " → ".join(parts)
