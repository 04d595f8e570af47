"""Encryption at rest of a job's args, kwargs and result (``@app.task(encrypt=True)``).

AES-256-GCM from the ``cryptography`` package (the ``offload[crypto]`` extra, imported
only once a key is used). Keys come from the ``encryption_keys`` setting
(``OFFLOAD_ENCRYPTION_KEYS``): ``"kid1:BASE64KEY,kid0:OLDKEY"``. The first key
encrypts; every key listed decrypts, so keys rotate without a pause (docs/security.md).

A sealed value takes the place of the JSON it seals, as a JSON string::

    "enc1:<key id>:<base64 of nonce (12 bytes), ciphertext and tag (16 bytes)>"

Its associated data names the key id, the job id and the field, so a value copied onto
another job, or into another field of the same job, does not decrypt. A job is sealed
as a whole, at enqueue: its args, which are a JSON array when plain, decode to a str.
That one type check is how every reader (and the worker) tells a sealed job from a
plain one; the store itself never knows the difference.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import serialization
from .errors import ConfigurationError, DecryptionFailed

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from .records import JobRecord, NewJob

VERSION = "enc1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# What a sealed job's args decode to (plain args are a list). Typed as a bare `type`:
# JobRecord.args says list, which is what every reader gets once the job is revealed.
SEALED: type = str
SETTING = "encryption_keys (OFFLOAD_ENCRYPTION_KEYS)"
EXTRA_HINT = "encrypt=True needs the cryptography package: pip install 'offload[crypto]'"


def generate_key() -> str:
    """A new random AES-256 key, base64-encoded (what ``offload keys generate`` prints)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _aesgcm() -> type[AESGCM]:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise ConfigurationError(EXTRA_HINT) from None
    return AESGCM


class Keyring:
    """The configured keys, newest (the encrypting one) first. Its repr and every error
    it raises name key ids only, never key material."""

    __slots__ = ("_keys", "_ciphers")

    def __init__(self, keys: Sequence[tuple[str, bytes]] = ()) -> None:
        self._keys = dict(keys)
        self._ciphers: dict[str, AESGCM] = {}

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """``"kid1:BASE64KEY,kid0:OLDKEY"``; an empty string is no keys."""
        if not isinstance(spec, str):  # its value is not shown: it may hold a key
            raise ConfigurationError(f"{SETTING} must be a string, got {type(spec).__name__}")
        entries = [e.strip() for e in spec.split(",")] if spec.strip() else []
        keys: list[tuple[str, bytes]] = []
        for n, entry in enumerate(entries, 1):
            kid, sep, encoded = entry.partition(":")
            if not sep or not KEY_ID.fullmatch(kid):
                raise ConfigurationError(
                    f"{SETTING}: entry {n} of {len(entries)} is not KEY_ID:BASE64_KEY"
                    " (a key id is 1-64 letters, digits, '_', '-' or '.')"
                )
            if any(kid == k for k, _ in keys):
                raise ConfigurationError(f"{SETTING}: key id {kid!r} is listed twice")
            keys.append((kid, _decode_key(kid, encoded.strip())))
        return cls(keys)

    def __repr__(self) -> str:
        ids = list(self._keys)
        return f"<Keyring encrypts with {ids[0]!r}, decrypts {ids}>" if ids else "<Keyring (no keys)>"

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def require(self, task: str) -> None:
        """Refuse ``encrypt=True`` on ``task`` when nothing could encrypt its jobs."""
        _aesgcm()
        if not self._keys:
            raise ConfigurationError(
                f"task {task!r} has encrypt=True, but no encryption key is configured: set {SETTING}"
                " (make a key with `offload keys generate`)"
            )

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            cipher = self._ciphers[kid] = _aesgcm()(self._keys[kid])
        return cipher

    # -- sealing ---------------------------------------------------------------------------

    def seal(self, plain_json: str, job_id: str, field: str) -> str:
        """The JSON text that stores ``plain_json`` encrypted with the newest key."""
        kid = next(iter(self._keys), None)
        if kid is None:
            raise ConfigurationError(f"job {job_id}: no encryption key to encrypt its {field} with; set {SETTING}")
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(kid).encrypt(nonce, plain_json.encode(), _associated(kid, job_id, field))
        return f'"{VERSION}:{kid}:{base64.b64encode(nonce + sealed).decode()}"'

    def sealing(self, make: Callable[[Sequence[Any], dict[str, Any]], NewJob]) -> Callable[..., NewJob]:
        """``make`` (App.job_factory's job builder, which checks the arguments and the
        payload size on the plain JSON), with the args and kwargs of each job sealed."""
        seal = self.seal

        def make_sealed(args: Sequence[Any], kwargs: dict[str, Any]) -> NewJob:
            job = make(args, kwargs)
            job.args_json = seal(job.args_json, job.id, "args")
            job.kwargs_json = seal(job.kwargs_json, job.id, "kwargs")
            return job

        return make_sealed

    # -- opening -----------------------------------------------------------------------------

    def open(self, value: Any, job_id: str, field: str) -> Any:
        """The plain value of a sealed one (what ``JobRecord.args`` etc. hold: the
        decoded JSON string); DecryptionFailed when it can't be opened here."""
        version, _, rest = value.partition(":") if isinstance(value, str) else ("", "", "")
        kid, _, encoded = rest.partition(":")
        if version != VERSION or not kid or not encoded:
            raise DecryptionFailed(job_id, field, "it is not a value offload encrypted")
        if kid not in self._keys:
            configured = ", ".join(map(repr, self._keys)) or "none"
            raise DecryptionFailed(
                job_id, field, f"key id {kid!r} is not configured (configured: {configured}); see {SETTING}", kid
            )
        try:
            cipher = self._cipher(kid)
        except ConfigurationError as exc:
            raise DecryptionFailed(job_id, field, str(exc), kid) from None
        try:
            raw = base64.b64decode(encoded, validate=True)
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(kid, job_id, field))
        except Exception:  # noqa: BLE001 - binascii.Error, InvalidTag, a too short nonce: all one answer
            raise DecryptionFailed(
                job_id,
                field,
                f"it does not verify with key {kid!r} (a different key under that id, an altered value,"
                " or a value copied from another job)",
                kid,
            ) from None
        return serialization.loads(plain)

    def open_call(self, record: JobRecord) -> tuple[list[Any], dict[str, Any]]:
        """The plain args and kwargs of a sealed job."""
        return self.open(record.args, record.id, "args"), self.open(record.kwargs, record.id, "kwargs")

    def reveal(self, record: JobRecord) -> JobRecord:
        """``record`` with its args, kwargs and result opened; a plain record as it is."""
        if record.args.__class__ is not SEALED:
            return record
        args, kwargs = self.open_call(record)
        result = record.result
        if result is not None:
            result = self.open(result, record.id, "result")
        return dataclasses.replace(record, args=args, kwargs=kwargs, result=result)


def _associated(kid: str, job_id: str, field: str) -> bytes:
    return f"offload/{VERSION}/{kid}/{job_id}/{field}".encode()


def _decode_key(kid: str, encoded: str) -> bytes:
    """A base64 key (standard or URL-safe alphabet, padding optional) of 32 bytes."""
    text = encoded.replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{SETTING}: the key of {kid!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"{SETTING}: the key of {kid!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
            " (make one with `offload keys generate`)"
        )
    return key
