"""Time-zone arithmetic shared by clocks, filters and adjustments.

Everything a schedule produces is a timezone-aware pendulum ``DateTime``. Two kinds of
arithmetic are used:

* *elapsed* arithmetic adds an exact amount of physical time (``start + k * interval`` on the
  UTC time line), used for steps shorter than a day;
* *wall-clock* arithmetic adds to the local calendar date and clock reading and then looks the
  result up in the time zone (:func:`localize`), used for steps of a day or more and for cron
  and rrule recurrences.

:func:`localize` is where daylight-saving transitions are resolved: a local time that does not
exist (spring forward) becomes the first valid instant after the gap, and a local time that
occurs twice (fall back) becomes its first occurrence.
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from typing import Any

import pendulum
from pendulum.tz.timezone import FixedTimezone, Timezone

__all__ = [
    "ONE_DAY",
    "ScheduleTypeError",
    "TZ",
    "instant",
    "localize",
    "shift",
    "to_datetime",
    "to_timezone",
    "utc_naive",
    "wall_clock",
    "zone_of",
]

TZ = Timezone | FixedTimezone
ONE_DAY = _dt.timedelta(days=1)
_ONE_US = _dt.timedelta(microseconds=1)


class ScheduleTypeError(TypeError, ValueError):
    """A schedule argument has the wrong type.

    It is both a ``TypeError`` (as Prefect Core 1.x raised for these mistakes) and a
    ``ValueError`` (as every other schedule construction error is), so either ``except`` works.
    """


def to_timezone(tz: Any, what: str = "time zone") -> TZ:
    """Return the pendulum time zone for a ``tzinfo`` (or zone name).

    Args:
        tz: a pendulum, ``zoneinfo``, ``datetime.timezone``, pytz or dateutil zone, or an IANA
            zone name such as ``"Europe/Berlin"``.
        what: how to name the value in error messages.

    Raises:
        ValueError: the zone cannot be mapped to an IANA zone or a fixed offset, so its DST
            rules would be lost.
    """
    if isinstance(tz, Timezone | FixedTimezone):
        return tz
    if isinstance(tz, str):
        try:
            return pendulum.timezone(tz)
        except Exception as exc:
            raise ValueError(f"{what}: unknown time zone name {tz!r}.") from exc
    if isinstance(tz, zoneinfo.ZoneInfo):
        return pendulum.timezone(tz.key)
    if isinstance(tz, _dt.timezone):
        offset = tz.utcoffset(None)
        if not offset:
            return pendulum.UTC
        return pendulum.FixedTimezone(int(offset.total_seconds()))
    zone = getattr(tz, "zone", None)  # pytz
    if isinstance(zone, str):
        return to_timezone(zone, what)
    filename = getattr(tz, "_filename", None)  # dateutil.tz.tzfile
    if isinstance(filename, str):
        key = filename.split("zoneinfo/", 1)[-1].lstrip("/")
        try:
            return pendulum.timezone(key)
        except Exception:
            pass
    if tz.tzname(None) == "UTC":
        return pendulum.UTC
    raise ValueError(
        f"{what}: cannot interpret time zone {tz!r}; use an IANA zone "
        "(pendulum.timezone('Europe/Berlin') or zoneinfo.ZoneInfo('Europe/Berlin')) "
        "or a fixed offset (datetime.timezone) so that daylight-saving rules are known."
    )


def to_datetime(value: Any, what: str) -> pendulum.DateTime:
    """Return ``value`` as an aware pendulum ``DateTime``.

    A naive ``datetime`` is interpreted as UTC (as Prefect Core 1.x did).

    Args:
        value: a ``datetime`` (pendulum or standard library).
        what: the argument name used in error messages, e.g. ``"start_date"``.

    Raises:
        ScheduleTypeError: ``value`` is not a ``datetime`` (a ``date`` or a string, say).
        ValueError: its time zone cannot be interpreted.
    """
    if not isinstance(value, _dt.datetime):
        hint = ""
        if isinstance(value, _dt.date):
            hint = (
                f"; for midnight use datetime({value.year}, {value.month}, {value.day}, tzinfo=...)"
            )
        elif isinstance(value, str):
            hint = "; parse it first, e.g. with pendulum.parse(...)"
        raise ScheduleTypeError(
            f"{what} must be a datetime, got {type(value).__name__} {value!r}{hint}."
        )
    if value.tzinfo is None or value.utcoffset() is None:
        tz: TZ = pendulum.UTC
        naive = value.replace(tzinfo=None)
    else:
        tz = to_timezone(value.tzinfo, what)
        if isinstance(value, pendulum.DateTime) and value.tzinfo is tz:
            return value
        # keep the instant: convert through UTC, then read it in the zone
        naive = None
    if naive is not None:
        return _fields_in(naive, tz)
    return _from_utc(value.astimezone(_dt.UTC), tz)


def _fields_in(dt: _dt.datetime, tz: TZ, fold: int = 0) -> pendulum.DateTime:
    """A pendulum DateTime with the date and clock fields of ``dt``, in zone ``tz``."""
    return pendulum.DateTime(
        dt.year,
        dt.month,
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        dt.microsecond,
        tzinfo=tz,
        fold=fold,
    )


def _from_utc(utc: _dt.datetime, tz: TZ) -> pendulum.DateTime:
    local = utc.astimezone(tz)
    return _fields_in(local, tz, local.fold)


def _plain(dt: _dt.datetime) -> _dt.datetime:
    """The same fields as a naive standard-library datetime (exact timedelta arithmetic)."""
    return _dt.datetime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond)


def utc_naive(dt: _dt.datetime) -> _dt.datetime:
    """The instant ``dt`` as a naive standard-library datetime in UTC."""
    return _plain(dt.astimezone(_dt.UTC))


def instant(dt: _dt.datetime) -> _dt.datetime:
    """``dt`` as an aware UTC standard-library datetime, for comparisons.

    Python compares two datetimes that share a ``tzinfo`` object by their clock readings alone,
    ignoring ``fold``, so the two occurrences of a repeated local time would compare equal;
    comparing instants avoids that. Naive datetimes are returned unchanged.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt
    return utc_naive(dt).replace(tzinfo=_dt.UTC)


def wall_clock(dt: _dt.datetime, tz: TZ) -> _dt.datetime:
    """The naive local date and clock reading of the instant ``dt`` in zone ``tz``."""
    return _plain(dt.astimezone(tz))


def localize(naive: _dt.datetime, tz: TZ) -> pendulum.DateTime:
    """Return the instant at which the clocks of zone ``tz`` show the local time ``naive``.

    A local time that occurs twice (the hour repeated when clocks fall back) maps to its first
    occurrence. A local time that does not exist (the hour skipped when clocks spring forward)
    maps to the first valid instant after the gap, i.e. the moment of the transition.
    """
    naive = _plain(naive)
    before = tz.utcoffset(naive.replace(fold=0))
    after = tz.utcoffset(naive.replace(fold=1))
    assert before is not None and after is not None
    if after <= before:
        # unambiguous, or the first of two occurrences
        return _fields_in(naive, tz)
    # In a gap: the transition lies in (naive - after, naive - before] on the UTC time line.
    lo = (naive - after).replace(tzinfo=_dt.UTC)
    hi = (naive - before).replace(tzinfo=_dt.UTC)
    while hi - lo > _ONE_US:
        mid = lo + (hi - lo) // 2
        if tz.utcoffset(mid.astimezone(tz)) == after:
            hi = mid
        else:
            lo = mid
    return _from_utc(hi, tz)


def zone_of(dt: _dt.datetime) -> TZ:
    """The pendulum time zone of a ``DateTime`` made by :func:`to_datetime` or :func:`localize`."""
    tz = dt.tzinfo
    assert isinstance(tz, Timezone | FixedTimezone), tz
    return tz


def shift(dt: pendulum.DateTime, delta: _dt.timedelta, times: int = 1) -> pendulum.DateTime:
    """Return ``dt`` moved by ``times * delta`` in ``dt``'s own time zone.

    Steps of a day or more keep the local wall-clock time (``09:00`` stays ``09:00`` across a
    DST change); shorter steps add elapsed time.
    """
    tz = zone_of(dt)
    total = delta * times
    if abs(delta) >= ONE_DAY:
        return localize(wall_clock(dt, tz) + total, tz)
    return _from_utc((utc_naive(dt) + total).replace(tzinfo=_dt.UTC), tz)
