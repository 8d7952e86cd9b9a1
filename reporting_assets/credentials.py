"""The rules every account of the platform follows (database logins and API accounts), and who acts from a shell."""

from __future__ import annotations

import getpass
import os
import re

from .settings import ConfigError

USERNAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MIN_PASSWORD_LENGTH = 12
PASSWORD_ENV = "REPORTING_NEW_USER_PASSWORD"


def current_actor() -> str:
    """audit_log.user_id of an administrator acting from a shell: the OS account."""
    try:
        return f"local:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "local:unknown"


def check_password(password: str | None) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"The password is shorter than {MIN_PASSWORD_LENGTH} characters; use a long random one (e.g. `openssl rand -base64 24`)."
        )


def read_new_password(*, optional: bool = False) -> str | None:
    """REPORTING_NEW_USER_PASSWORD, else typed twice on the terminal (never a command-line argument).

    ``optional``: a change that keeps the password (disabling an account) asks for none.
    """
    from_env = os.environ.get(PASSWORD_ENV, "")
    if from_env or optional:
        return from_env or None
    first = getpass.getpass(f"Password ({MIN_PASSWORD_LENGTH} characters at least): ")
    if getpass.getpass("The same password again: ") != first:
        raise ConfigError("The two passwords differ; run the command again.")
    return first
