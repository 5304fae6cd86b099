"""Field types shared by the request schemas. Whatever JSON a client sends, a value
either fits the database or is a 422 naming its field, never a 500 further down: ids
and versions fit a 32-bit column (PostgreSQL's INTEGER), floats are finite, and text
has no NUL (PostgreSQL refuses it) and no lone surrogate (not encodable as UTF-8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

MAX_INT = 2**31 - 1


def _storable_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


Text = Annotated[str, AfterValidator(_storable_text)]
Int = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
# Path parameters: an id beyond any column is a 422, not an overflow in the driver.
PathId = Annotated[int, Path(ge=1, le=MAX_INT)]
