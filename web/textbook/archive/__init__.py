"""The year-end archive of the textbooks (PDF): building it (:mod:`.services`), the
archives' space (:mod:`.space`) and its page (:mod:`.pages`)."""
