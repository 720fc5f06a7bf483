"""Parameter types shared by the routes: record ids and bounded counts that the store can hold.

Every id in a path, a query, a form or a JSON body is an :data:`Id`: an integer from 1 to
2**63 - 1, the range of the ``BIGINT`` columns on both engines. A larger number would reach the
database driver and fail there (``OverflowError``, a 500); as an :data:`Id` it is refused with
422 naming the parameter before any code runs. ``tests/test_web_malformed.py`` checks that every
integer parameter of every route has such an upper bound.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(Id).validate_python(42)
42
>>> from pydantic import ValidationError
>>> try:
...     TypeAdapter(Id).validate_python(2**63)
... except ValidationError as exc:
...     print(exc.errors()[0]["type"])
less_than_equal
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["MAX_ID", "Id", "Offset"]

#: The largest value of a signed 64-bit integer (``BIGINT``).
MAX_ID = 2**63 - 1

#: A record id: 1 … 2**63 - 1.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

#: A row offset for paging: 0 … 2**63 - 1.
Offset = Annotated[int, Field(ge=0, le=MAX_ID)]
