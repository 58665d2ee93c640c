"""One error tree shared by the workspace server, the SDK and the CLI: the public one.

The same failure reads the same everywhere: the server maps each class to its HTTP status and a
``{"message": ...}`` body, the SDK raises the class matching the status it received, and the CLI
prints the message on one line and exits non-zero. ``except modelport.errors.ModelportError``
catches everything modelport raises on purpose::

    ModelportError
    ├── UserError (400)
    │   ├── AuthenticationError (401)
    │   ├── NotFound (404)
    │   ├── Conflict (409)
    │   │   └── PreconditionFailed (412)
    │   ├── PayloadTooLarge (413)
    │   ├── ConfigError (400: a bad inferenceconfig/deploymentconfig key or value)
    │   └── EnvironmentBuildError (400: an environment could not be resolved or built)
    ├── ServerError (500)
    ├── ServerUnreachable (client side)
    ├── WebserviceException (a service operation ended badly; v1's name)
    └── OperationTimeout (a wait gave up; the operation goes on)

``modelport.exceptions`` is the same module under a second name, and v1 driver code's
``from azureml.exceptions import WebserviceException`` resolves here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # defined next to the code that raises them; imported from there on first use
    from modelport.environments.lock import EnvironmentBuildError as EnvironmentBuildError
    from modelport.specs.errors import ConfigError as ConfigError

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "Conflict",
    "EnvironmentBuildError",
    "ModelportError",
    "NotFound",
    "OperationTimeout",
    "PayloadTooLarge",
    "PreconditionFailed",
    "ServerError",
    "ServerUnreachable",
    "UserError",
    "WebserviceException",
    "error_for_status",
]

# name -> module defining it (their modules import this one, so they cannot be imported here)
_ELSEWHERE = {
    "ConfigError": "modelport.specs.errors",
    "EnvironmentBuildError": "modelport.environments.lock",
}


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


class WebserviceException(ModelportError):
    """A service operation ended badly; carries the state, operation id and typed cause."""

    def __init__(
        self,
        message: str,
        *,
        state: str | None = None,
        operation_id: str | None = None,
        error: Mapping[str, Any] | None = None,
        logs_tail: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.state = state
        self.operation_id = operation_id
        self.error = dict(error) if error else None
        self.code = (error or {}).get("code")
        self.logs_tail = list(logs_tail)


class OperationTimeout(ModelportError):
    """``timeout_sec`` passed before the operation ended (the operation itself goes on)."""

    status_code = 504


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


def __getattr__(name: str) -> Any:
    from modelport import _lazy_attribute

    return _lazy_attribute(globals(), _ELSEWHERE, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
