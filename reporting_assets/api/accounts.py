"""API accounts (reporting.api_user): create, change role or password, disable; each change an audit row."""

from __future__ import annotations

from ..credentials import USERNAME, check_password, current_actor
from ..settings import ConfigError
from ..warehouse import migrations
from ..warehouse.audit import append_audit
from ..warehouse.database import transaction
from .roles import ROLES
from .security import hash_password

RESERVED = {"unknown"}  # failed sign-ins with an unknown name are audited as api:unknown


def check_account(username: str, role: str) -> None:
    if not USERNAME.fullmatch(username or "") or username in RESERVED:
        raise ConfigError(f"User name {username!r} is not allowed; use 1-63 lower-case letters, digits or underscores, not starting with a digit (and not 'unknown').")
    if role not in ROLES:
        raise ConfigError(f"Role {role!r} is not an API role; use one of {', '.join(ROLES)}.")


def save_api_user(url: str, username: str, role: str, password: str | None, *, disabled: bool = False, actor: str | None = None) -> bool:
    """Create the account, or update its role, disabled flag and (when given) password; True when created.

    Disabling takes effect on the account's next request: every request reads the flag.
    """
    check_account(username, role)
    if password is not None:
        check_password(password)
    migrations.ensure_schema(url)
    actor = actor or current_actor()
    with transaction(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM reporting.api_user WHERE username = %s FOR UPDATE", (username,))
        exists = cur.fetchone() is not None
        if not exists and password is None:
            raise ConfigError(f"API user {username!r} does not exist; give a password to create it.")
        if exists:
            cur.execute(
                "UPDATE reporting.api_user SET role = %s, disabled = %s, password_hash = coalesce(%s, password_hash), "
                "updated_at = (CURRENT_TIMESTAMP AT TIME ZONE 'UTC') WHERE username = %s",
                (role, disabled, hash_password(password) if password else None, username),
            )
        else:
            cur.execute(
                "INSERT INTO reporting.api_user (username, password_hash, role, disabled) VALUES (%s, %s, %s, %s)",
                (username, hash_password(password), role, disabled),
            )
        action = "create_api_user" if not exists else ("disable_api_user" if disabled else "update_api_user")
        append_audit(conn, user_id=actor, action=action, resource_type="api_user", resource_id=username,
                     details=f"role {role}" + (", disabled" if disabled else ""))
    return not exists
