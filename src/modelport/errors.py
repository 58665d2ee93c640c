"""One error tree shared by the workspace server, the SDK and the CLI.

The same failure reads the same everywhere: the server maps each class to its HTTP status and a
``{"message": ...}`` body, the SDK raises the class matching the status it received, and the CLI
prints the message on one line and exits non-zero.
"""

from __future__ import annotations


class ModelportError(Exception):
    """Base of every error modelport raises on purpose."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(ModelportError):
    """Bad input: a name, a file, a value or a combination the user can fix (HTTP 400)."""

    status_code = 400


class AuthenticationError(UserError):
    """Missing or wrong credentials (HTTP 401)."""

    status_code = 401


class NotFound(UserError):
    """The named workspace, model, run, environment or service does not exist (HTTP 404)."""

    status_code = 404


class Conflict(UserError):
    """The request clashes with the current state: name taken, operation running (HTTP 409)."""

    status_code = 409


class PreconditionFailed(Conflict):
    """The object is in use and cannot be changed that way, e.g. deleting a deployed model (HTTP 412)."""

    status_code = 412


class PayloadTooLarge(UserError):
    """A request body or upload exceeds its limit (HTTP 413)."""

    status_code = 413


class ServerError(ModelportError):
    """The server failed on its side; the message says what to look at (HTTP 500)."""

    status_code = 500


class ServerUnreachable(ModelportError):
    """The workspace server could not be reached (client side only)."""

    status_code = 503


_BY_STATUS: dict[int, type[ModelportError]] = {
    400: UserError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    422: UserError,
}


def error_for_status(status_code: int, message: str) -> ModelportError:
    """Build the error class that matches an HTTP status received from the server."""
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code](message)
    if 400 <= status_code < 500:
        return UserError(message)
    return ServerError(message)
