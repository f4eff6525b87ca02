"""Timetable import (``davserver import timetable``): a file read into entries
(:mod:`.entries`) by one reader per format (:mod:`.from_csv`, :mod:`.from_ics`), then
applied to a school (:mod:`.services`)."""
