"""Encryption at rest for secrets the portal must keep (AES-256-GCM).

The key comes from ``PORTAL_ENCRYPTION_KEY`` (base64, 32 bytes) or, if unset, is derived from
``SECRET_KEY`` with HKDF. Each purpose gets its own derived key, so a ciphertext cannot be moved
from one use to another.
"""

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["decrypt", "encrypt"]

VERSION = b"v1:"
NONCE_BYTES = 12


def _key(purpose: str) -> bytes:
    master = settings.PORTAL_ENCRYPTION_KEY
    material = base64.b64decode(master) if master else settings.SECRET_KEY.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kassenportal", info=purpose.encode()).derive(material)


def encrypt(plaintext: bytes, purpose: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(_key(purpose)).encrypt(nonce, plaintext, purpose.encode())


def decrypt(ciphertext: bytes, purpose: str) -> bytes:
    if not ciphertext.startswith(VERSION):
        raise ValueError("unknown ciphertext format")
    body = ciphertext[len(VERSION):]
    nonce, sealed = body[:NONCE_BYTES], body[NONCE_BYTES:]
    return AESGCM(_key(purpose)).decrypt(nonce, sealed, purpose.encode())
