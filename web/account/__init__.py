"""The user's account in the browser: signing in and out (:mod:`.pages`), the account
page with its app passwords (:mod:`.app_passwords`), the grant page of the sync
apps' Login Flow v2 (:mod:`.login_flow`), the school's charter
(:mod:`.charter`) and identity federation (:mod:`.federation`, CAS, SAML)."""

import importlib.util
import sys

# The identity providers' libraries (pysaml2 with its XML schemas, Authlib, python-cas)
# weigh about 0.5 s of start-up and tens of MiB, and most deployments use one of them
# or none. Their modules here are loaded on first use, with the standard library's
# lazy loader (importlib.util.LazyLoader, the recipe of the importlib documentation):
# ``from . import saml`` gives the module at once, and it runs at its first attribute.
_LAZY = ("cas", "oidc", "saml")


def _install_lazy(name: str) -> None:
    full = f"{__name__}.{name}"
    if full in sys.modules:
        return
    spec = importlib.util.find_spec(full)
    assert spec is not None and spec.loader is not None, full
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)
    setattr(sys.modules[__name__], name, module)


for _name in _LAZY:
    _install_lazy(_name)


def load_protocols(kinds: set[str]) -> None:
    """Run now the lazy modules of the provider kinds in use (``"cas"``, ``"saml"``,
    ``"oidc"``), at start-up: Python 3.11's lazy loader is not safe against two
    threads' first use of a module (CPython gh-114763), and a missing library then
    shows at start, not at the first sign-in. Any attribute read runs the module."""
    for kind in sorted(kinds & set(_LAZY)):
        _ = sys.modules[f"{__name__}.{kind}"].__doc__

