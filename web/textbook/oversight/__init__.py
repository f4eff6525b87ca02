"""The head's oversight of the textbooks (issue 7): visas (:mod:`.visas`), inspectors'
accesses and the oversight queries (:mod:`.services`), their tables (:mod:`.models`),
forms (:mod:`.forms`) and pages (:mod:`.pages`, :mod:`.access_pages`)."""
