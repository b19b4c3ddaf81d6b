"""The four roles, and the one rule above them: admin may do and see everything."""

from facetrail.auth.roles import ROLES, admitted, role_allows, sees_everything


def test_the_roles_are_operator_enroller_auditor_and_admin():
    assert set(ROLES) == {"operator", "enroller", "auditor", "admin"}


def test_only_admin_sees_everything():
    assert [role for role in ROLES if sees_everything(role)] == ["admin"]


def test_a_role_passes_a_check_that_names_it_and_admin_passes_every_check():
    assert role_allows("auditor", ("auditor",)) and role_allows("admin", ("auditor",))
    assert not role_allows("operator", ("auditor",))


def test_a_check_admits_the_roles_it_names_and_admin_in_name_order():
    assert admitted(("operator", "enroller")) == ("admin", "enroller", "operator")
    assert admitted(("admin",)) == ("admin",)
