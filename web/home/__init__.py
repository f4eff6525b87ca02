"""The welcome page (``/``) and the navigation bar's places (:mod:`.pages`); a later
issue builds the block-based home page here."""
