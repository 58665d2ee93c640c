"""Encryption at rest for service secrets (keys, token signing secrets) with the server's key file."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from modelport.errors import ServerError

KEY_FILE_NAME = "secret.key"


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) around one server key, read from ``<home>/secret.key``."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_home(cls, home: Path) -> SecretBox:
        return cls(load_or_create_key(Path(home) / KEY_FILE_NAME))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            # A different secret.key than the one the row was written with: say so, never the value.
            raise ServerError(
                "A stored service secret cannot be decrypted with this server's secret.key; "
                "was the key file replaced?"
            ) from exc


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, creating it 0600 atomically on first use (several processes may race)."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, Fernet.generate_key())
    finally:
        os.close(fd)
    try:
        # link() fails if another process won the race; then everyone uses the winner's key.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()
