"""Encryption of personal data at rest (Fernet). Masking in text is ``agent.privacy.mask``."""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from daoban.settings import Settings

KEY_FILE = "secret.key"


def load_key(settings: Settings) -> bytes:
    """The configured key, else one generated once and kept (mode 600) in data_dir."""
    if settings.api.secret_key:
        return settings.api.secret_key.encode()
    path = Path(settings.data_dir) / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked in place: workers starting at once agree on one key
    # (the link fails for all but the first, who then read the first's), and none reads a half-written file.
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes().strip()


class Vault:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)
        # A subkey for keyed hashes, so a MAC never reveals anything about the encryption key.
        self._mac_key = hashlib.sha256(b"daoban-mac\0" + key).digest()

    def mac(self, *parts: str) -> str:
        """HMAC-SHA256 (hex) of ``parts``: an id derived server-side that no client can compute or choose."""
        data = b"\0".join(p.encode("utf-8") for p in parts)
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise ValueError("stored data cannot be decrypted: was the secret key changed?") from exc
