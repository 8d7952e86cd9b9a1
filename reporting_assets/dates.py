"""Calendar days of the clinic: date windows and "today" in the clinic's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


def clinic_today(timezone: str) -> dt.date:
    """Today in the clinic's time zone: no reporting date may be after it."""
    return dt.datetime.now(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class DateWindow:
    """Days ``start`` (inclusive) to ``end`` (exclusive)."""

    start: dt.date
    end: dt.date

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        last = self.end - dt.timedelta(days=1)
        return self.start.isoformat() if last == self.start else f"{self.start.isoformat()}...{last.isoformat()}"

    def days_from(self, first: dt.date) -> DateWindow:
        """The part of the window from ``first`` on (empty when the window ends before it)."""
        start = max(self.start, first)
        return DateWindow(start, max(start, self.end))

    def day_keys(self) -> list[str]:
        return [day.isoformat() for day in self.days()]
