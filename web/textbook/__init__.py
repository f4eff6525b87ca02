"""The cahier de textes (textbook): school years, teaching services, lessons, their
activities (content, homework) and the week view data, the head's visas and
inspectors' accesses, and the timetable import (DESIGN.md vocabulary:
``TeachingService``, ``Lesson``, ``Visa``)."""

from .activities import (
    ActivityInput,
    add_activity,
    default_due_lesson,
    edit_activity,
    editable_activity,
    get_lesson,
    is_teacher,
    lesson_activities,
    move_activity,
    next_lessons,
    publish_now,
    reorder_activities,
    require_teacher,
    sanitize_html,
)
from .attachments.models import Attachment
from .attachments.services import (
    attach_picked,
    attach_upload,
    attachments_of,
    readable_activity,
    readable_attachment,
    remove_attachment,
    share_attachments,
)
from .attachments.services import purge_activity as purge_activity_and_attachments
from .calendar import (
    DayPlan,
    DueRow,
    LessonRow,
    WeekHolidays,
    Workload,
    monday_of,
    school_zone,
    service_titles,
    student_service_ids,
    teacher_service_ids,
    week_holidays,
    week_plan,
    workload,
    workload_day,
    workload_week,
)
from .changes import (
    cancel_lesson,
    lesson_cancelled,
    lesson_move_noted,
    lesson_rescheduled,
    lesson_resources_asked,
    new_lesson,
    reschedule_lesson,
    uncancel_lesson,
)
from .handins import dav as handin_dav  # noqa: F401  (registers /dav/classeur/Remises/)
from .handins.files import (
    Upload,
    check_separators,
    delete_handin_file,
    hand_in,
    record_upload,
    return_correction,
)
from .handins.models import Handin, HandinClosure, HandinCorrection, HandinFile
from .handins.services import (
    Homework,
    StudentHandin,
    StudentRow,
    WaitingCopies,
    handin_homework,
    is_closed,
    lateness,
    readable_file,
    require_service_teacher,
    require_targeted,
    set_closed,
    student_handins,
    student_homework,
    student_rows,
    waiting_copies,
)
from .homework import (
    HomeworkItem,
    HomeworkWeek,
    chosen_child,
    done_counts,
    done_times,
    homework_week,
    set_done,
)
from .homework_models import HomeworkDone, HomeworkType
from .homework_types import (
    MAX_TYPE,
    NOT_TYPE_EDITOR,
    add_type,
    homework_types,
    remove_type,
    rename_type,
    type_editor_school,
)
from .imported_services import store_imported_services  # (registers acl's service sink)
from .models import (
    HOMEWORK_TYPES,
    Activity,
    ActivityKind,
    Holiday,
    Lesson,
    LessonSource,
    LessonStatus,
    SchoolYear,
    TeachingService,
    Week,
    activity_targets,
    service_teachers,
)
from .oversight.models import (
    InspectorAccess,
    TrashedActivity,
    TrashedLesson,
    Visa,
    activity_not_trashed,
    live_activity,
)
from .oversight.services import (
    NOT_OPENER,
    NOT_SUPERVISOR,
    OPENERS,
    AccessInput,
    ReadScope,
    access_services_text,
    access_state,
    access_today,
    accesses_for_teacher,
    accesses_in_school,
    current_accesses,
    open_access,
    period_text,
    read_scope,
    require_supervisor,
    revoke_access,
    school_services,
    service_labels,
    teacher_services,
)
from .oversight.visas import (
    ChangeMark,
    VisaDue,
    changes_after,
    covering_visa,
    date_label,
    held_by_visa,
    put_visa,
    services_to_visa,
    signer_names,
    visas_of,
)
from .reading import (
    NO_TEXTBOOK,
    NOT_YOURS,
    Weeks,
    asked_monday,
    homework_due_at,
    readable_activities,
    reader_of,
    weeks_of,
)
from .services import (
    Period,
    create_lesson,
    current_school_year,
    ensure_service,
    holidays_of,
    in_holidays,
    replace_holidays,
    set_school_year,
    zone,
)
from .timetable import (
    HolidayOptions,
    HolidayReport,
    ImportSource,
    Rejected,
    Timetable,
    TimetableOptions,
    TimetableReport,
    WrongKind,
    import_holidays,
    import_timetable,
    read_holidays,
    read_timetable,
    today_in,
)
from .trash import (
    TrashedActivityRow,
    TrashRow,
    delete_activity,
    delete_lesson,
    is_trashed,
    purge_activity,
    restore_activity,
    restore_choices,
    restore_lesson,
    signed_since_message,
    trashed_activities,
    trashed_activity,
    trashed_lessons,
)
from .visibility import release_time, shows_at

__all__ = [
    # teaching services read by a people import (acl.register_service_sink)
    "store_imported_services",
    # who reads which textbook (pages and API)
    "NOT_YOURS", "NO_TEXTBOOK", "Weeks", "asked_monday", "homework_due_at", "readable_activities",
    "reader_of", "weeks_of",
    "publish_now", "release_time", "shows_at",
    # the student and parent view: homework by due date, ticks, per-school types
    "HomeworkDone", "HomeworkItem", "HomeworkType", "HomeworkWeek", "MAX_TYPE", "NOT_TYPE_EDITOR",
    "add_type", "chosen_child", "done_counts", "done_times", "homework_types",
    "homework_week", "remove_type", "rename_type", "set_done", "type_editor_school",
    # moving and cancelling lessons, and their signals
    "cancel_lesson", "lesson_cancelled", "lesson_move_noted", "lesson_rescheduled",
    "lesson_resources_asked", "new_lesson",
    "uncancel_lesson",
    "reschedule_lesson",
    # activities and the week (issue 5, teacher's textbook)
    "HOMEWORK_TYPES", "Activity", "ActivityInput", "ActivityKind", "DayPlan", "DueRow",
    "LessonRow", "Workload", "activity_targets", "add_activity", "default_due_lesson",
    "delete_activity", "edit_activity", "editable_activity", "get_lesson", "is_teacher",
    "lesson_activities", "monday_of", "move_activity", "next_lessons",
    "reorder_activities", "require_teacher", "sanitize_html", "school_zone", "service_titles",
    "student_service_ids",
    "teacher_service_ids", "WeekHolidays", "week_holidays", "week_plan", "workload",
    "workload_day", "workload_week",
    "Holiday", "Lesson", "LessonSource", "LessonStatus", "Period", "SchoolYear",
    "TeachingService", "Week",
    "create_lesson", "current_school_year", "ensure_service",
    "holidays_of", "in_holidays", "replace_holidays", "service_teachers",
    "set_school_year", "zone",
    # oversight (issue 7): visas, inspectors' accesses; the lessons' corbeille
    "NOT_OPENER", "NOT_SUPERVISOR", "OPENERS", "AccessInput", "ChangeMark",
    "InspectorAccess", "ReadScope", "TrashRow",
    "TrashedLesson", "Visa", "VisaDue", "access_services_text", "access_state", "access_today",
    "accesses_for_teacher", "accesses_in_school", "changes_after", "covering_visa",
    "current_accesses", "date_label", "delete_lesson", "held_by_visa", "is_trashed",
    "open_access", "signer_names",
    "period_text", "put_visa", "read_scope", "require_supervisor", "restore_lesson",
    "revoke_access", "services_to_visa", "school_services", "service_labels", "teacher_services",
    "trashed_lessons", "visas_of",
    # the activities' corbeille (issue 20, "Undo instead of loss")
    "TrashedActivity", "TrashedActivityRow", "activity_not_trashed", "live_activity",
    "purge_activity", "restore_activity", "restore_choices", "signed_since_message",
    "trashed_activities", "trashed_activity",
    # online submission (issue 7, "remise en ligne")
    "Handin", "HandinClosure", "HandinCorrection", "HandinFile", "Homework",
    "StudentHandin", "StudentRow", "Upload", "check_separators", "delete_handin_file",
    "hand_in", "handin_homework", "is_closed", "lateness", "readable_file",
    "require_service_teacher", "require_targeted", "return_correction", "set_closed",
    "student_handins", "student_homework", "student_rows", "WaitingCopies", "waiting_copies",
    # attachments of activities (issue 5)
    "Attachment", "attach_picked", "attach_upload", "attachments_of",
    "purge_activity_and_attachments", "readable_activity", "readable_attachment",
    "record_upload", "remove_attachment", "share_attachments",
    # school data in: timetable and holidays (davserver import timetable|holidays)
    "HolidayOptions", "HolidayReport", "ImportSource", "Rejected", "Timetable",
    "TimetableOptions", "TimetableReport", "WrongKind", "import_holidays",
    "import_timetable", "read_holidays", "read_timetable", "today_in",
]
