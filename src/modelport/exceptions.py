"""The public error tree under a second name: the classes of :mod:`modelport.errors`, re-exported.

Both spellings name the same classes (``except modelport.exceptions.NotFound`` catches what
``modelport.errors.NotFound`` names); :mod:`modelport.errors` is the one the documentation uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelport import errors
from modelport.errors import AuthenticationError as AuthenticationError
from modelport.errors import Conflict as Conflict
from modelport.errors import ModelportError as ModelportError
from modelport.errors import NotFound as NotFound
from modelport.errors import OperationTimeout as OperationTimeout
from modelport.errors import PayloadTooLarge as PayloadTooLarge
from modelport.errors import PreconditionFailed as PreconditionFailed
from modelport.errors import ServerError as ServerError
from modelport.errors import ServerUnreachable as ServerUnreachable
from modelport.errors import UserError as UserError
from modelport.errors import WebserviceException as WebserviceException
from modelport.errors import error_for_status as error_for_status

if TYPE_CHECKING:
    from modelport.errors import ConfigError as ConfigError
    from modelport.errors import EnvironmentBuildError as EnvironmentBuildError

__all__ = errors.__all__


def __getattr__(name: str) -> Any:
    return getattr(errors, name)  # ConfigError, EnvironmentBuildError: imported on first use
