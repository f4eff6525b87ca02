"""People, groups and access decisions (DESIGN.md: ``acl/``)."""

from .models import Group, GroupKind, Membership, Profile, School, User
from .people import (
    Principal,
    add_member,
    create_user,
    disable_user,
    ensure_group,
    ensure_school,
    find_user,
    list_users,
    profile_of,
    set_password,
    verify_credentials,
)
from .policy import PRIVILEGES, SpaceRef, allowed, require

__all__ = [
    "PRIVILEGES", "Group", "GroupKind", "Membership", "Principal", "Profile", "School",
    "SpaceRef", "User", "add_member", "allowed", "create_user", "disable_user",
    "ensure_group", "ensure_school", "find_user", "list_users", "profile_of",
    "require", "set_password", "verify_credentials",
]
