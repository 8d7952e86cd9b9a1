"""Sign-in (OAuth2 password form → bearer token, throttled) and /me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from ...warehouse.audit import append_audit
from ..accounts import USERNAME
from ..deps import CurrentCaller, account_role, client_address, pool_of, user_agent
from ..errors import ApiError, unauthorized
from ..models import Me, Token
from ..roles import REPORTS_BY_ROLE
from ..security import verify_password

router = APIRouter(tags=["auth"])
MAX_FAILURES, WINDOW_SECONDS = 5, 60

# failed sign-ins in the last minute, for this user or from this address; counted from
# audit_log so every API process behind a load balancer shares the same throttle
RECENT_FAILURES = """
SELECT count(*) FROM reporting.audit_log
WHERE action = 'login_failed'
  AND timestamp > (CURRENT_TIMESTAMP AT TIME ZONE 'UTC') - make_interval(secs => %(window)s)
  AND (user_id = %(user_id)s OR ip_address = %(address)s::inet)
"""


@router.post("/auth/token", response_model=Token, summary="Sign in with user name and password; returns a bearer token")
def sign_in(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=63)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
) -> Token:
    address, agent = client_address(request), user_agent(request)
    known_name = username if USERNAME.fullmatch(username) else None
    # a mistyped password must not land in the audit log: unknown names are recorded as api:unknown
    with pool_of(request).connection() as conn, conn.cursor() as cur:
        cur.execute(RECENT_FAILURES, {"window": WINDOW_SECONDS, "user_id": f"api:{known_name or ''}", "address": address})
        if cur.fetchone()[0] >= MAX_FAILURES:
            raise ApiError(429, "Too many failed sign-ins; wait a minute and try again.", {"Retry-After": str(WINDOW_SECONDS)})
        cur.execute("SELECT password_hash, disabled FROM reporting.api_user WHERE username = %s", (known_name,))
        account = cur.fetchone()
        if not (verify_password(account[0] if account else None, password) and not account[1]):
            audit_user = f"api:{known_name}" if account else "api:unknown"
            append_audit(conn, user_id=audit_user, action="login_failed", resource_type="api_user",
                         resource_id=known_name if account else None, ip_address=address, user_agent=agent)
            conn.commit()
            raise ApiError(401, "Wrong user name or password.", {"WWW-Authenticate": "Bearer"})
        cur.execute("UPDATE reporting.api_user SET last_login_at = (CURRENT_TIMESTAMP AT TIME ZONE 'UTC') WHERE username = %s", (known_name,))
        append_audit(conn, user_id=f"api:{known_name}", action="login", resource_type="api_user",
                     resource_id=known_name, ip_address=address, user_agent=agent)
        conn.commit()
    tokens = request.app.state.tokens
    return Token(access_token=tokens.issue(known_name), expires_in=tokens.minutes * 60)


@router.get("/me", response_model=Me, summary="The signed-in user and the reports their role may read")
def me(request: Request, caller: CurrentCaller) -> Me:
    with pool_of(request).connection() as conn, conn.cursor() as cur:
        role, disabled = account_role(cur, caller.username)
    if role is None or disabled:
        raise unauthorized()
    return Me(username=caller.username, role=role, reports=list(REPORTS_BY_ROLE[role]))
