"""The teacher's binder (classeur pédagogique) seen from the textbook: binder items
(:mod:`.items`), copying activities to and from it (:mod:`.transfers`), its pages
(:mod:`.pages`) and JSON API (:mod:`.api`)."""
