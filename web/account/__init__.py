"""The user's account in the browser: signing in and out (:mod:`.pages`), the account
page with its app passwords (:mod:`.app_passwords`), the grant page of the sync
apps' Login Flow v2 (:mod:`.login_flow`), the school's charter
(:mod:`.charter`) and identity federation (:mod:`.federation`, CAS, SAML)."""
