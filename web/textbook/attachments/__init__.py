"""Files attached to an activity: tables (:mod:`.models`), rules (:mod:`.services`),
pages (:mod:`.pages`) and JSON API (:mod:`.api`)."""
