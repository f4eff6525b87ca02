"""The cahier de textes (textbook): school years, teaching services, lessons, and the
timetable import (DESIGN.md vocabulary: ``TeachingService``, ``Lesson``)."""

from .models import (
    Holiday,
    Lesson,
    LessonSource,
    LessonStatus,
    SchoolYear,
    TeachingService,
    UTCDateTime,
    Week,
    service_teachers,
)
from .services import (
    Period,
    WeeklySlot,
    add_lessons,
    check_slot,
    create_lesson,
    current_school_year,
    ensure_service,
    generate_lessons,
    holidays_of,
    in_holidays,
    replace_holidays,
    set_school_year,
    week_of,
    zone,
)
from .timetable import Entry, EventTimes, Rejected, TimetableFile, read_timetable
from .timetable_ics import read_holidays
from .timetable_import import TimetableReport, import_timetable

__all__ = [
    "Holiday", "Lesson", "LessonSource", "LessonStatus", "Period", "SchoolYear",
    "TeachingService", "UTCDateTime", "Week", "WeeklySlot", "add_lessons", "check_slot",
    "create_lesson", "current_school_year", "ensure_service", "generate_lessons",
    "holidays_of", "in_holidays", "replace_holidays", "service_teachers",
    "set_school_year", "week_of", "zone",
    # timetable import (davserver import timetable)
    "Entry", "EventTimes", "Rejected", "TimetableFile", "TimetableReport",
    "import_timetable", "read_holidays", "read_timetable",
]
