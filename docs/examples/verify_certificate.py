#!/usr/bin/env python3
"""Verify a rescard root statement (an issuer key's certificate or revocation) with standard
libraries only: pycose (COSE, RFC 9052) and cbor2, following docs/CERTIFICATES.md. Nothing from
rescard is used.

    pip install pycose 'cbor2<6'    (pycose 1.1 needs cbor2 5)
    python3 verify_certificate.py ROOT_JSON STATEMENT_FILE

Prints the statement as JSON and exits 0 when the root's signature verifies and the statement is
well formed, 1 when it does not.
"""
import base64
import datetime
import hashlib
import json
import sys

import cbor2
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

FIELDS = {
    "rescard-certificate": {"type", "kid", "public_key", "not_before", "not_after", "usage", "issued_at"},
    "rescard-revocation": {"type", "kid", "public_key", "since", "issued_at"},
}
USAGES = {"cards", "status", "audit"}


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def when(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def main(root_path, statement_path):
    root_file = json.load(open(root_path))
    root = b64url(root_file["public_key"])
    if hashlib.sha256(root).hexdigest() != root_file["fingerprint"]:
        fail("the root file's fingerprint is not its key's")
    msg = Sign1Message.decode(open(statement_path, "rb").read())  # checks the tag (18)
    if msg.phdr.get(Algorithm) != EdDSA:
        fail("alg is not EdDSA")
    if bytes(msg.phdr[KID]) != hashlib.sha256(root).digest()[:8]:
        fail("not signed by this root (kid)")
    msg.key = OKPKey(crv=Ed25519, x=root)
    if not msg.verify_signature():
        fail("the root's signature does not verify")
    body = cbor2.loads(msg.payload)
    kind = body.get("type")
    if kind not in FIELDS or set(body) != FIELDS[kind]:
        fail(f"not a certificate or revocation: {sorted(body)}")
    key = bytes(body["public_key"])
    if len(key) != 32 or hashlib.sha256(key).digest()[:8] != bytes(body["kid"]):
        fail("kid is not the first 8 bytes of SHA-256 of the public key")
    out = {
        "type": kind,
        "kid": bytes(body["kid"]).hex(),
        "public_key": base64.urlsafe_b64encode(key).decode().rstrip("="),
        "issued_at": when(body["issued_at"]),
    }
    if kind == "rescard-certificate":
        usage = list(body["usage"])
        if not usage or len(set(usage)) != len(usage) or not set(usage) <= USAGES:
            fail("bad usage")
        if min(body["not_before"], body["not_after"], body["issued_at"]) < 0 or body["not_after"] < body["not_before"]:
            fail("bad usage or period")
        out.update(not_before=when(body["not_before"]), not_after=when(body["not_after"]),
                   usage=list(body["usage"]))
    else:
        out.update(since=when(body["since"]))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
