"""The user's account in the browser: signing in and out (:mod:`.pages`), the account
page with its app passwords (:mod:`.app_passwords`); later the school's charter."""
