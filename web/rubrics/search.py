"""``/rubriques/<slug>/gestion/recherche/<kind>?q=``: the small JSON search behind the
pickers of a rubric's access tabs (issue 20: people, groups and subjects are picked
with search, not typed as logins).

Only the rubric's managers get an answer (404 or 403 otherwise, as the tabs), and
only about the rubric's school, as :mod:`acl.people_search` limits it: a person's
name, profile and classes, never an e-mail or a phone number. The answer is
``{"results": [{"value": ..., "label": ...}]}``: ``value`` is what the field
receives, ``label`` what the list shows beside it. It is never cached.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import acl
from web.auth import login_required, signed_in, web_context
from web.i18n import PROFILE_LABELS

from .admin_pages import managed_rubric

bp = Blueprint("rubric_search", __name__, url_prefix="/rubriques/<slug>/gestion/recherche")

MAX_QUERY = 100  # characters of a search


@bp.get("/<any(personnes, groupes, disciplines):kind>")
@login_required
def search(slug: str, kind: str) -> Response:
    """Up to ``acl.people_search.MAX_MATCHES`` answers for ``q`` (people need two
    characters at least). 400 for a query longer than :data:`MAX_QUERY`."""
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        abort(400, description=_("Recherche trop longue : %(max)d caractères au plus.",
                                 max=MAX_QUERY))
    me = signed_in()
    with web_context().db.transaction(write=False) as s:
        rubric = managed_rubric(s, slug)
        if kind == "personnes":
            results = [{"value": p.value, "label": ", ".join(
                [str(PROFILE_LABELS.get(p.profile.value, p.profile.value)), *p.classes])}
                for p in acl.search_people(s, rubric.school_id, me.id, query)]
        elif kind == "groupes":
            results = [{"value": name, "label": ""}
                       for name in acl.search_groups(s, rubric.school_id, query)]
        else:
            results = [{"value": code, "label": name}
                       for code, name in acl.search_subjects(s, rubric.school_id, query)]
    answer = jsonify({"results": results})
    answer.headers["Cache-Control"] = "no-store"
    return answer
