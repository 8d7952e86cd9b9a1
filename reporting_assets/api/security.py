"""Passwords (argon2id) and bearer tokens (JWT, HS256): the only place either is made or checked."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..settings import ConfigError, Settings

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_ISSUER = "reporting-api"
# verified against when the user name is unknown, so both cases take the same time
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-the-same-work")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def load_secret(settings: Settings) -> str:
    """REPORTING_API_SECRET, or (not in production) a key generated once, 0600, in the local state folder."""
    if settings.api_secret:
        return settings.api_secret
    if settings.production:
        raise ConfigError("REPORTING_ENV=production needs REPORTING_API_SECRET set (e.g. `openssl rand -hex 32`); production never generates one.")
    path = settings.api_secret_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker wrote it first: use theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ConfigError(f"The API secret file {path} is shorter than 32 characters; delete it to have a new one generated.")
    return secret


@dataclass(frozen=True)
class TokenIssuer:
    secret: str
    minutes: int

    def issue(self, username: str, now: dt.datetime | None = None) -> str:
        now = now or dt.datetime.now(dt.timezone.utc)
        claims = {"sub": username, "iss": _ISSUER, "iat": now, "exp": now + dt.timedelta(minutes=self.minutes)}
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def username(self, token: str) -> str | None:
        """The token's user name, or None when it is expired, tampered with or not ours."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], issuer=_ISSUER, options={"require": ["exp", "iat", "sub", "iss"]})
        except jwt.PyJWTError:
            return None
        subject = claims.get("sub")
        return subject if isinstance(subject, str) else None
