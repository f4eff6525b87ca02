"""School data in (issue 24): the timetable and the holidays.

A timetable file is read into :class:`~.courses.Timetable` (one model, whatever the
format: :mod:`.from_edt`, :mod:`.from_udt`, :mod:`.from_pronote`, :mod:`.from_csv`,
:mod:`.from_ics`; :mod:`.detect` tells them apart by content), its names found in the
directory (:mod:`.directory`), laid on the school calendar (:mod:`.school_calendar`)
and applied to the school's lessons (:mod:`.apply`). The ministry's school calendar is
read by :mod:`.school_holidays`. :mod:`.services` holds the entry points,
:func:`import_timetable` and :func:`import_holidays`.
"""

from .apply import KeptLesson, Progress, TimetableReport, apply_timetable
from .courses import Course, EventTimes, Rejected, Slot, TeacherRef, Timetable, Where
from .detect import FORMATS, WrongKind, detect_format, parse_xml
from .from_ics import read_holidays
from .school_calendar import SchoolCalendar, public_holidays, subdivision_of, zone_holidays
from .school_holidays import read_dataset, year_calendar
from .services import (
    HolidayOptions,
    HolidayReport,
    ImportSource,
    TimetableOptions,
    calendar_of,
    import_holidays,
    import_timetable,
    journal,
    read_timetable,
    school_of,
    today_in,
)

__all__ = [
    "FORMATS", "Course", "EventTimes", "HolidayOptions", "HolidayReport", "ImportSource",
    "KeptLesson", "Progress", "Rejected", "SchoolCalendar", "Slot", "TeacherRef",
    "Timetable", "TimetableOptions", "TimetableReport", "Where", "WrongKind",
    "apply_timetable", "calendar_of", "detect_format", "import_holidays",
    "import_timetable", "journal", "parse_xml", "public_holidays", "read_dataset",
    "read_holidays", "read_timetable", "school_of", "subdivision_of", "today_in",
    "zone_holidays",
    "year_calendar",
]
