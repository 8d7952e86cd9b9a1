"""Calendar days of the clinic: date windows and "today" in the clinic's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
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

    def without(self, days: Collection[dt.date]) -> tuple[DateWindow, list[dt.date]]:
        """The smallest part of the window holding each of its days not in ``days`` (empty when
        every day is), and the window's days outside that part (each one of ``days``)."""
        rest = [day for day in self.days() if day not in days]
        part = DateWindow(rest[0], rest[-1] + dt.timedelta(days=1)) if rest else DateWindow(self.start, self.start)
        return part, [day for day in self.days() if not part.start <= day < part.end]


def fiscal_year_and_quarter(day: dt.date, start_month: int) -> tuple[int, int]:
    """The fiscal year (named by the calendar year it ends in) and its quarter 1-4, for a year starting in ``start_month``."""
    months_in = (day.month - start_month) % 12
    # a year starting in July 2026 ends in June 2027: FY2027; a January start is the calendar year
    year = day.year + 1 if start_month > 1 and day.month >= start_month else day.year
    return year, months_in // 3 + 1


def calendar_day(day: dt.date, fiscal_start_month: int) -> dict:
    """The attributes of one day as reporting.dim_date holds them (ISO weeks: Monday to Sunday)."""
    iso_year, iso_week, day_of_week = day.isocalendar()
    week_start = day - dt.timedelta(days=day_of_week - 1)
    month_start = day.replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    fiscal_year, fiscal_quarter = fiscal_year_and_quarter(day, fiscal_start_month)
    return {
        "date_key": day,
        "year": day.year,
        "quarter": (day.month - 1) // 3 + 1,
        "month": day.month,
        "month_name": MONTH_NAMES[day.month - 1],
        "iso_year": iso_year,
        "iso_week": iso_week,
        "day_of_week": day_of_week,
        "day_name": DAY_NAMES[day_of_week - 1],
        "is_weekend": day_of_week >= 6,
        "week_start": week_start,
        "week_end": week_start + dt.timedelta(days=6),
        "month_start": month_start,
        "month_end": next_month - dt.timedelta(days=1),
        "fiscal_year": fiscal_year,
        "fiscal_quarter": fiscal_quarter,
    }


# English names whatever the process's locale (calendar.month_name would follow it)
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
