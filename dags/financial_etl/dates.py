"""The business date of a run: `conf["business_date"]` when given (the event trigger sends it), otherwise
the UTC day before the data interval's end (the 02:00 run processes yesterday)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_business_date(value: Any) -> str:
    """A YYYY-MM-DD string that is a real date, or ValueError (it ends up in paths and SQL literals)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(f"business_date must be YYYY-MM-DD, got {value!r}")
    dt.date.fromisoformat(value)
    return value


def business_date(dag_run: Any, data_interval_end: Any = None) -> str:
    """Resolve the run's business date from its conf or its data interval."""
    conf = getattr(dag_run, "conf", None) or {}
    if conf.get("business_date") is not None:
        return parse_business_date(conf["business_date"])
    end = data_interval_end or getattr(dag_run, "run_after", None)
    if end is None:
        raise ValueError("no business_date in conf and no data interval to derive it from")
    return (end.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
