"""Every error response is `{"detail": "One sentence."}` (422 adds `parameter`); nothing else leaks."""

from __future__ import annotations

import psycopg2.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .pool import DatabaseUnavailable

UNAVAILABLE = "The reporting database is unavailable; try again shortly."
SIGN_IN_AGAIN = "Sign in again: the token is missing, expired or invalid."

# what each query or form parameter must look like, for the 422 sentence
_PARAMETER_RULES = {
    "start": "must be a date in the form YYYY-MM-DD",
    "end": "must be a date in the form YYYY-MM-DD",
    "granularity": "must be one of day, week or month",
    "limit": "must be a whole number from 1 to 1000",
    "cursor": "must be a cursor returned by this endpoint",
    "status": "must be one of the statuses this report lists",
    "min_days_overdue": "must be a whole number from 0 to 100000",
    "patient_id": "must be a pseudonym of the form pt_ followed by 32 hexadecimal digits",
    "user_id": "must be at most 50 characters",
    "action": "must be at most 100 characters",
    "username": "must be given, at most 63 characters",
    "password": "must be given, at most 1024 characters",
}


class ParameterError(Exception):
    """A bad request parameter: 422 naming it."""

    def __init__(self, parameter: str, message: str | None = None) -> None:
        self.parameter = parameter
        self.message = message or f"Parameter '{parameter}' {_PARAMETER_RULES.get(parameter, 'is not valid')}."
        super().__init__(self.message)


class ApiError(Exception):
    """An error with a status and one sentence for the client."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status_code, self.detail, self.headers = status_code, detail, headers
        super().__init__(detail)


def unauthorized() -> ApiError:
    return ApiError(401, SIGN_IN_AGAIN, {"WWW-Authenticate": "Bearer"})


def _parameter_of(exc: RequestValidationError) -> str:
    for error in exc.errors():
        loc = [part for part in error.get("loc", ()) if isinstance(part, str) and part not in ("query", "body", "path", "header")]
        if loc:
            return loc[0]
    return "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = ParameterError(_parameter_of(exc))
        return JSONResponse({"detail": error.message, "parameter": error.parameter}, status_code=422)

    @app.exception_handler(ParameterError)
    async def _parameter(request: Request, exc: ParameterError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "parameter": exc.parameter}, status_code=422)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return JSONResponse({"detail": UNAVAILABLE}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(psycopg2.errors.InsufficientPrivilege)
    async def _refused_by_database(request: Request, exc: psycopg2.errors.InsufficientPrivilege) -> JSONResponse:
        # PostgreSQL's grants refused the read: the second line of defence held
        return JSONResponse({"detail": "Your role is not permitted to read this report."}, status_code=403)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        sentences = {404: "There is nothing at this address.", 405: "This address does not accept that method."}
        detail = sentences.get(exc.status_code) or (exc.detail if isinstance(exc.detail, str) else "The request failed.")
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


INTERNAL_ERROR = "The server could not complete the request; the error has been logged."
