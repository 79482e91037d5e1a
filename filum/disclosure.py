"""Small cells in figures that leave the organisation (D6, X3): a count of 1 to 4 persons in a
population the reader does not work with can point at a person, so such a count, and every
share made from it or over it, is shown as "fewer than 5" instead.

Zero stays visible (it names nobody). Where the counts of a line add up to a total that is
shown, hiding a single one would let the reader work it out by subtraction: the smallest other
non-zero count of the line is hidden with it."""

from __future__ import annotations

from collections.abc import Sequence

MIN_CELL_SIZE = 5


def is_small(count: int | None) -> bool:
    """True for a count that must not be shown (1 to 4)."""
    return count is not None and 0 < count < MIN_CELL_SIZE


def hidden_in_partition(counts: Sequence[int]) -> set[int]:
    """The positions to hide among ``counts`` that add up to a shown total: the small ones,
    and when that is exactly one, also the smallest other non-zero count."""
    hidden = {i for i, count in enumerate(counts) if is_small(count)}
    if len(hidden) == 1:
        others = [(count, i) for i, count in enumerate(counts) if count > 0 and i not in hidden]
        if others:
            hidden.add(min(others)[1])
    return hidden
