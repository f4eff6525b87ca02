"""Homework handed in (copies rendues): tables (:mod:`.models`), rules
(:mod:`.services`), files and corrections (:mod:`.files`), the DAV view of a
homework's hand-ins (:mod:`.dav`), pages (:mod:`.pages`) and JSON API (:mod:`.api`)."""
