"""Request dependencies: who is calling (token, address, user agent) and the audited report transaction.

Every read of report data goes through ``report_transaction``: one transaction that checks the
account (not disabled, current role), appends the audit row, switches to the role's PostgreSQL
group role with SET LOCAL ROLE and then reads. No audit row, no data.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import psycopg2
import psycopg2.extensions
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg2 import sql

from ..warehouse.audit import append_audit
from .errors import ApiError, unauthorized
from .pool import ConnectionPool, DatabaseUnavailable
from .roles import RESOURCE_TYPES, group_role, may_read
from .security import TokenIssuer

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


@dataclass(frozen=True)
class Caller:
    """The signed-in user as the token names it; the role is read from the database on each request."""

    username: str
    ip_address: str | None
    user_agent: str | None

    @property
    def audit_user(self) -> str:
        return f"api:{self.username}"


def client_address(request: Request) -> str | None:
    """The client's IP; X-Forwarded-For counts only when the direct peer is a trusted proxy."""
    trusted = request.app.state.settings.api_trusted_proxies
    peer = _ip(request.client.host if request.client else None)
    if peer is None or not _within(peer, trusted):
        return str(peer) if peer else None
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    # walk from the nearest hop: the first address no trusted proxy vouches for is the client
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return str(peer)
        if not _within(address, trusted):
            return str(address)
    return str(peer)


def came_over_https(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    peer = _ip(request.client.host if request.client else None)
    trusted = request.app.state.settings.api_trusted_proxies
    return peer is not None and _within(peer, trusted) and request.headers.get("x-forwarded-proto", "").lower() == "https"


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


def _within(address, networks) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent") or None


def get_caller(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Caller:
    issuer: TokenIssuer = request.app.state.tokens
    username = issuer.username(token) if token else None
    if username is None:
        raise unauthorized()
    return Caller(username=username, ip_address=client_address(request), user_agent=user_agent(request))


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def pool_of(request: Request) -> ConnectionPool:
    return request.app.state.pool


def account_role(cur, username: str) -> tuple[str | None, bool]:
    """(role, disabled) of the account, (None, False) when it does not exist."""
    cur.execute("SELECT role, disabled FROM reporting.api_user WHERE username = %s", (username,))
    row = cur.fetchone()
    return (row[0], row[1]) if row else (None, False)


def begin_report(
    conn: psycopg2.extensions.connection, caller: Caller, report: str, *, action: str, resource_id: str
) -> str:
    """Check the account, audit the read and switch to the role's group role; return the role.

    Refusals commit their access_denied row and raise 401/403.
    """
    resource_type = RESOURCE_TYPES[report]
    with conn.cursor() as cur:
        role, disabled = account_role(cur, caller.username)
        if role is None or disabled or not may_read(role, report):
            if role is not None:
                _audit(conn, caller, "access_denied", resource_type, resource_id)
                conn.commit()
            if role is None or disabled:
                raise unauthorized()
            raise ApiError(403, f"Your role ({role}) is not permitted to read {resource_type}.")
        _audit(conn, caller, action, resource_type, resource_id)
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(group_role(role))))
    return role


def _audit(conn, caller: Caller, action: str, resource_type: str, resource_id: str) -> None:
    try:
        append_audit(
            conn,
            user_id=caller.audit_user,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            ip_address=caller.ip_address,
            user_agent=caller.user_agent,
        )
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        raise
    except psycopg2.Error:
        conn.rollback()
        raise DatabaseUnavailable() from None  # no audit row, no data


@contextlib.contextmanager
def report_transaction(request: Request, caller: Caller, report: str, resource_id: str) -> Iterator[psycopg2.extensions.cursor]:
    """The JSON read: audit row (view_report), SET LOCAL ROLE, the caller's queries, COMMIT."""
    with pool_of(request).connection() as conn:
        begin_report(conn, caller, report, action="view_report", resource_id=resource_id)
        with conn.cursor() as cur:
            yield cur
        conn.commit()
