"""The service contract: a request that validates itself, a frozen result that serialises itself.

Every public service function has the same shape::

    def run_something(core: OpenILP, actor: UserInfo | None, request: SomethingRequest) -> SomethingResult:
        request = request.validate()
        with core.unit_of_work(actor) as uow:
            ...
        return SomethingResult(...)

* The **request** is a frozen dataclass holding every parameter with its default (study area,
  ``as_of``, category words, bounds). Defaults live here and nowhere else, so the command line,
  the JSON API and the page ask the same question when given the same values. ``validate()``
  raises :class:`openilp.errors.InvalidRequest` naming the parameter and the fix, and returns the
  request (normalised where needed).
* The **result** is a frozen dataclass; ``as_dict()`` gives its JSON-ready form (ISO dates, lists,
  plain numbers), the one both shells print or send.

>>> import datetime as dt
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Example(Result):
...     day: dt.date
...     codes: tuple[str, ...]
>>> Example(dt.date(2019, 6, 3), ("burglary",)).as_dict()
{'day': '2019-06-03', 'codes': ['burglary']}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from openilp.core.dates import check_day
from openilp.errors import InvalidRequest

__all__ = ["Request", "Result", "plain", "require"]


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: dates as ISO text, tuples and sets as lists, numpy as numbers."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Result) and type(value).as_dict is not Result.as_dict:
        return value.as_dict()  # a result that shapes its own JSON
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [plain(v) for v in items]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "ndim", None) == 0:
        return plain(item())
    tolist = getattr(value, "tolist", None)  # numpy arrays
    if callable(tolist):
        return plain(tolist())
    return str(value)


class Result:
    """Base of service results (frozen dataclasses): ``as_dict()`` is their JSON form."""

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data; fields starting with ``_`` stay private."""
        data = plain(self)
        assert isinstance(data, dict)
        return data


class Request:
    """Base of service requests (frozen dataclasses): ``validate()`` checks and returns the request.

    Building a request already refuses a day or moment outside the years a workflow can compute
    with (:func:`openilp.core.dates.check_day`), whichever shell parsed it: 9999-12-31 as an
    ``as_of`` would overflow at the first day added to it.
    """

    def __post_init__(self) -> None:
        if dataclasses.is_dataclass(self):
            for item in dataclasses.fields(self):
                value = getattr(self, item.name)
                if isinstance(value, dt.date):
                    check_day(value, item.name)

    def validate(self) -> Self:
        """Raise :class:`~openilp.errors.InvalidRequest` for a parameter out of range; return the request."""
        return self


def require(condition: bool, message: str) -> None:
    """Raise :class:`~openilp.errors.InvalidRequest` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise InvalidRequest(message)
