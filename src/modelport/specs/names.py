"""Service names: the v1 rule, quoted in the message so users can fix a name in one go."""

from __future__ import annotations

import re

from modelport.specs.errors import ConfigError

SERVICE_NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
SERVICE_NAME_RULE = (
    "3-32 characters of lowercase letters, numbers or dashes, starting with a letter and "
    f"ending with a letter or number ({SERVICE_NAME_PATTERN})"
)


def validate_service_name(name: object) -> str:
    """Return ``name`` if it is a valid service name, else raise ConfigError quoting the rule."""
    if (
        not isinstance(name, str)
        or not 3 <= len(name) <= 32
        or not re.fullmatch(SERVICE_NAME_PATTERN, name)
    ):
        raise ConfigError([f"service name {name!r} is invalid: it must be {SERVICE_NAME_RULE}"])
    return name
