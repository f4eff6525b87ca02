"""People, groups, rubrics and access decisions (DESIGN.md: ``acl/``)."""

from .grant_listing import (
    GrantInfo,
    grants_of,
    invitations_of,
    pending_invitation_count,
    revoke_grant,
)
from .invitations import InvitationInfo, answer, invitations_for, invite
from .models import (
    Group,
    GroupKind,
    ImportedUser,
    Membership,
    ParentLink,
    Profile,
    School,
    Subject,
    TeacherSubject,
    User,
)
from .people import (
    Principal,
    add_member,
    add_teacher_subject,
    children_of,
    create_user,
    disable_user,
    ensure_group,
    ensure_school,
    ensure_subject,
    find_school,
    find_user,
    group_names,
    groups_of,
    link_parent,
    list_users,
    logins_of,
    members_of,
    profile_of,
    set_password,
    subject_names,
    verify_credentials,
)
from .people_csv import MissingColumns, PeopleFile, PersonRow, Rejected, read_people
from .people_import import ImportReport, NewAccount, import_people, import_school
from .policy import (
    DAV_PRIVILEGES,
    PRIVILEGES,
    ROLE_PRIVILEGES,
    NodeRef,
    Scope,
    SpaceRef,
    Standing,
    allowed,
    privileges,
    publishes_at_once,
    require,
    role_at,
)
from .rubric_models import Grant, Invitation, InvitationStatus, Role, Rubric, Service
from .rubrics import (
    Population,
    RubricInfo,
    UserContext,
    add_rubric,
    configure,
    drop_folder_grants,
    find_rubric,
    get_rubric,
    grant,
    list_rubrics,
    parse_role,
    population,
    revoke,
    rubric_by_id,
    set_parent,
    standing_in_rubric,
    user_context,
    visible_rubrics,
)

__all__ = [
    "DAV_PRIVILEGES", "PRIVILEGES", "ROLE_PRIVILEGES", "Grant", "GrantInfo", "Group",
    "GroupKind", "Invitation", "InvitationInfo", "InvitationStatus", "Membership",
    "NodeRef", "ParentLink", "Population", "Principal", "Profile", "Role", "Rubric",
    "RubricInfo", "School", "Scope", "Service", "SpaceRef", "Standing", "Subject",
    "TeacherSubject", "User", "UserContext", "add_member", "add_rubric",
    "add_teacher_subject", "allowed", "answer", "children_of", "configure",
    "create_user", "disable_user", "drop_folder_grants", "ensure_group", "ensure_school",
    "ensure_subject", "find_rubric", "find_school", "find_user", "get_rubric", "grant",
    "grants_of", "group_names", "groups_of", "invitations_for", "invitations_of", "invite",
    "link_parent", "list_rubrics", "list_users", "logins_of", "members_of", "parse_role",
    "pending_invitation_count",
    "population", "privileges", "profile_of", "publishes_at_once", "require", "revoke",
    "revoke_grant", "role_at", "rubric_by_id", "set_parent", "set_password",
    "standing_in_rubric", "subject_names", "user_context", "verify_credentials", "visible_rubrics",
    # people import (davserver import people)
    "ImportReport", "ImportedUser", "MissingColumns", "NewAccount", "PeopleFile",
    "PersonRow", "Rejected", "import_people", "import_school", "read_people",
]
