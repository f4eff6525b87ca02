"""Rubrics in the browser (issue 4): the rubrics a user holds a role in and their
invitations (:mod:`.pages`), a rubric's management page (:mod:`.admin_pages`), their
forms (:mod:`.forms`) and the notice of an invitation (:mod:`.notices`). The rubrics
themselves, roles and grants are :mod:`acl`'s.
"""

from .notices import notify_invitation

__all__ = ["notify_invitation"]
