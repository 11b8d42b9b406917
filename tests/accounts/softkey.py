"""A software WebAuthn authenticator for tests: makes the answers a browser would send for
navigator.credentials.create()/get() (ES256, "none" attestation), so the server's checks run on real
signatures without a browser."""

import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url

FLAGS_UP_UV_AT = 0x01 | 0x04 | 0x40  # user present, user verified, attested credential data
FLAGS_UP_UV = 0x01 | 0x04


class SoftKey:
    def __init__(self, rp_id: str = "testserver", origin: str = "http://testserver"):
        self.rp_id, self.origin = rp_id, origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.count = 0

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )

    def _client_data(self, kind: str, challenge: bytes, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": bytes_to_base64url(challenge),
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def create(self, challenge: bytes, origin: str | None = None) -> str:
        """The JSON a browser posts after navigator.credentials.create()."""
        client_data = self._client_data("webauthn.create", challenge, origin)
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([FLAGS_UP_UV_AT])
            + struct.pack(">I", self.count)
            + bytes(16)  # AAGUID: none
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(self, challenge: bytes, origin: str | None = None, count: int | None = None) -> str:
        """The JSON a browser posts after navigator.credentials.get(); the counter goes up by one
        (or is `count`, for a clone whose counter lags)."""
        if count is None:
            self.count += 1
            count = self.count
        client_data = self._client_data("webauthn.get", challenge, origin)
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest() + bytes([FLAGS_UP_UV]) + struct.pack(">I", count)
        )
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(auth_data),
                    "signature": bytes_to_base64url(signature),
                },
                "clientExtensionResults": {},
            }
        )
