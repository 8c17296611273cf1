#!/usr/bin/env python3
"""Verify a rescard payload with standard libraries only: pycose (COSE, RFC 9052), base45 (RFC 9285)
and cbor2, following docs/FORMAT.md. Nothing from rescard is used.

    pip install pycose 'cbor2<6' base45    (pycose 1.1 needs cbor2 5)
    python3 verify_card.py PAYLOAD_FILE TRUST_LIST_JSON

Prints the card as JSON and exits 0 when the signature verifies, 1 when it does not.
"""
import base64
import datetime
import hashlib
import json
import sys

import base45
import cbor2
from pycose.headers import KID
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

PREFIX = "RC1:"
CARD_CLAIM = -65537
PERMITS = ["work", "study", "family", "business", "other"]
DOCUMENTS = {1: "interim"}  # claim 13; absent: a resident card
EPOCH = datetime.date(1970, 1, 1)


def day(n):
    return (EPOCH + datetime.timedelta(days=n)).isoformat()


def main(payload_path, trust_path):
    text = open(payload_path).read().strip()
    if not text.startswith(PREFIX):
        sys.exit("not an RC1 payload")
    cose = base45.b45decode(text[len(PREFIX):])
    msg = Sign1Message.decode(cose)  # checks the COSE_Sign1 tag (18)
    kid = bytes(msg.phdr[KID])  # the 8-byte key id, in the protected header
    trust = json.load(open(trust_path))
    for entry in trust:
        raw = base64.urlsafe_b64decode(entry["public_key"] + "=" * (-len(entry["public_key"]) % 4))
        if hashlib.sha256(raw).digest()[:8] != kid or entry["status"] == "retired":
            continue
        msg.key = OKPKey(crv=Ed25519, x=raw)
        if msg.verify_signature():
            claims = cbor2.loads(msg.payload)
            card = claims[CARD_CLAIM]
            print(json.dumps({
                "iss": claims[1],
                "iat": datetime.datetime.fromtimestamp(claims[6], datetime.timezone.utc).isoformat(),
                "serial": f"{card[1]:09d}",
                "itn": f"{card[2]:014d}",
                "surname": card[3],
                "given_names": card[4],
                "native_name": card.get(5),
                "date_of_birth": day(card[6]),
                "sex": card.get(7),
                "nationality": card[8],
                "permit": PERMITS[card[9]],
                "valid_from": day(card[10]),
                "valid_until": day(card[11]),
                "document": DOCUMENTS[card[13]] if 13 in card else "resident_card",
                "kid": kid.hex(),
            }, ensure_ascii=False, indent=2))
            return 0
    print("signature does not verify with any trusted key", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
