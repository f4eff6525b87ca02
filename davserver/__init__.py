"""ENT document server: the trunk (config, db, errors, clock) and the crown (app, auth, cli)."""

__version__ = "0.1.0"
