"""Snowflakes: Discord's 64-bit ids, which travel as decimal strings and live here as ints.

Why ints: comparisons, dict keys and set membership on ints are cheaper and cannot go wrong the way "123" vs
123 can. Why a `NewType`: the converter needs to know which ints arrived as strings (and must leave as
strings, because JavaScript clients lose precision above 2**53), and readers of a model see at a glance which
fields are ids. The converter accepts a decimal string or a non-negative int and rejects everything else.
"""

from __future__ import annotations

from typing import NewType, cast

Snowflake = NewType("Snowflake", int)

#: Discord's ids fit in 64 unsigned bits.
MAX_SNOWFLAKE = (1 << 64) - 1


def parse_snowflake(value: object) -> Snowflake:
    """Turn a wire value into a `Snowflake`, raising `ValueError` for anything that is not an id.

    Hot path (every id of every payload): the common case, a short ASCII digit string, is checked first;
    ``cast`` instead of ``Snowflake(...)`` because calling a ``NewType`` costs a function call at run time.
    """
    if value.__class__ is str:
        if len(value) <= 20 and value.isdigit() and value.isascii():
            number = int(value)
            if number <= MAX_SNOWFLAKE:
                return cast(Snowflake, number)
    elif value.__class__ is int and 0 <= value <= MAX_SNOWFLAKE:
        return cast(Snowflake, value)
    raise ValueError(f"expected a snowflake (decimal string), got {value!r:.40}")
