"""The user's account in the browser: signing in and out (:mod:`.pages`); later the
user's preferences and the school's charter."""
