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


# --- differencing (decision 0032, amendment "Differencing") ---------------------------------

ROUNDING_BASE = 5


def rounded(count: int) -> int:
    """A count as it is shown outside the organisation: to the nearest multiple of 5 (half up).
    Two shown figures that differ by a few persons (a total and its shown parts, a drill-down
    and its parent, two overlapping splits) then never tell how many exactly."""
    return (count + ROUNDING_BASE // 2) // ROUNDING_BASE * ROUNDING_BASE


def hidden_in_line(
    counts: Sequence[int],
    total: int,
    *,
    hidden: set[int] | None = None,
    also: Sequence[tuple[Sequence[int], int]] = (),
) -> tuple[set[int], bool]:
    """The cells to hide in a line of ``counts`` shown beside their ``total``, and whether the
    total must be hidden too.

    Hidden first: the small counts and the positions already in ``hidden`` (e.g. shares over a
    small count). Then, while the line would give a hidden cell away, the smallest other shown
    non-zero count is hidden with them: when exactly one cell is hidden (total minus the shown
    cells is that cell), or when what the total leaves after the shown cells, or the hidden
    cells together, are 1 to 4 (for ``counts`` and for every (counts, total) in ``also``, e.g.
    the persons meeting a share's condition and the others). When no shown cell is left, the
    total is hidden."""
    positions = set(hidden or ()) | {i for i, c in enumerate(counts) if is_small(c)}
    quantities = [(counts, total), *also]

    def leaks() -> bool:
        if not positions:
            return False
        if len(positions) == 1:
            return True
        for values, whole in quantities:
            hidden_sum = sum(values[i] for i in positions)
            left = whole - sum(v for i, v in enumerate(values) if i not in positions)
            if is_small(hidden_sum) or is_small(left):
                return True
        return False

    while leaks():
        others = [(c, i) for i, c in enumerate(counts) if c > 0 and i not in positions]
        if not others:
            return positions, True
        positions.add(min(others)[1])
    return positions, False
