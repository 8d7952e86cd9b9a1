"""Login users of the reporting database, each a member of exactly one platform role (docs/security.md).

The group roles and their grants are created by ``sql/002_roles.sql``; this module only adds
LOGIN users to them (``reporting-admin create-user NAME --role bi|auditor|writer``) and records
each grant in ``audit_log`` in the same transaction as the grant itself.
"""

from __future__ import annotations


import psycopg2
import psycopg2.errors
import psycopg2.extensions
from psycopg2 import sql
from sqlalchemy.engine import URL, make_url

from ..credentials import USERNAME, check_password, current_actor, read_new_password
from ..settings import ConfigError
from ..warehouse import migrations
from ..warehouse.database import redact, transaction
from ..warehouse.audit import append_audit

# what each role may do is in sql/002_roles.sql and docs/security.md
ROLES = {"bi": "reporting_bi", "auditor": "reporting_auditor", "writer": "reporting_writer"}


def group_role(role: str) -> str:
    """The group role behind ``bi``, ``auditor`` or ``writer`` (its full name is accepted too)."""
    if role in ROLES:
        return ROLES[role]
    if role in ROLES.values():
        return role
    raise ConfigError(f"Role {role!r} is not a platform role; use one of {', '.join(ROLES)}.")


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username or ""):
        raise ConfigError(
            f"User name {username!r} is not allowed; use 1-63 lower-case letters, digits or underscores, not starting with a digit."
        )
    if username.startswith("pg_") or username in ROLES.values():
        raise ConfigError(f"User name {username!r} is reserved; choose a name that does not start with pg_ and is not a group role.")


def create_login_user(url: str, username: str, role: str, password: str, *, actor: str | None = None) -> bool:
    """Create the LOGIN user ``username`` in ``role`` (or set its password and role); True when created.

    The user ends up a member of exactly that platform role; memberships of the other two are
    revoked. The password is hashed (SCRAM-SHA-256) on the client, so the clear text never
    reaches the server or its statement log.
    """
    check_username(username)
    target = group_role(role)
    check_password(password)
    migrations.ensure_schema(url)  # the group roles and audit_log come from the migrations
    actor = actor or current_actor()
    user = sql.Identifier(username)
    try:
        with transaction(url) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls OR NOT rolcanlogin "
                "FROM pg_roles WHERE rolname = %s",
                (username,),
            )
            existing = cur.fetchone()
            if existing and existing[0]:
                raise ConfigError(f"{username!r} is a privileged account or a group role; create-user only manages the platform's own login users.")
            verifier = psycopg2.extensions.encrypt_password(password, username, conn, "scram-sha-256")
            verb = "ALTER" if existing else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT PASSWORD %s").format(user), (verifier,))
            for other in sorted(set(ROLES.values()) - {target}):
                if _is_member(cur, username, other):
                    cur.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), user))
                    append_audit(conn, user_id=actor, action="revoke_role", resource_type="role", resource_id=other, details=f"login user {username}")
            cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(target), user))
            if target != ROLES["writer"]:
                # role settings are not inherited from the group role: BI tools find the tables unqualified
                cur.execute(sql.SQL("ALTER ROLE {} SET search_path = reporting").format(user))
            append_audit(
                conn,
                user_id=actor,
                action="grant_role",
                resource_type="role",
                resource_id=target,
                details=f"login user {username} {'created' if not existing else 'updated'}",
            )
    except psycopg2.errors.InsufficientPrivilege:
        raise ConfigError(
            f"The account in {redact(url)} may not create roles; run create-user with the database owner or a CREATEROLE account."
        ) from None
    return not existing


def _is_member(cur, username: str, role: str) -> bool:
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = %s AND u.rolname = %s)",
        (role, username),
    )
    return cur.fetchone()[0]


def create_user_command(url: str, username: str, role: str) -> str:
    """``reporting-admin create-user``: the line it prints."""
    created = create_login_user(url, username, role, read_new_password())
    where = redact(url).replace("postgresql+psycopg2://", "postgresql://")
    return (
        f"{'Created' if created else 'Updated'} login user {username} in role {group_role(role)} on {where}.\n"
        f"Connect as it (psql asks for the password): psql \"{login_url(url, username)}\""
    )


def login_url(url: str, username: str) -> str:
    """The libpq URL a login user connects with: the server and database of ``url``, that user, no password."""
    server = make_url(url)
    login = URL.create("postgresql", username=username, host=server.host, port=server.port, database=server.database, query=server.query)
    return login.render_as_string(hide_password=False)
