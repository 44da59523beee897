#!/usr/bin/env python3
"""Independent verifier of an Attest auditor package (format attest-package-v1).

Usage: python3 verify.py PACKAGE.zip [--public-key HEX]

Needs only Python 3.8+ and its standard library. It checks, without trusting Attest:
  1. the manifest's Ed25519 signature, with the organisation's public key;
  2. every file against the SHA-256 and size the manifest gives, and that no file was added;
  3. the ledger segment: numbering, payload hashes, the hash chain from its anchor, and every
     checkpoint's signature and head (docs/ledger.md);
  4. every evidence file against its record, and every record added in the segment against
     its `evidence.added` ledger entry.
Exit status: 0 intact, 1 something was changed, 2 the package cannot be read.

Use the public key the organisation published (pass it with --public-key): the copy inside
the package proves only that the package is consistent with itself.
"""

import hashlib
import json
import sys
import zipfile

# --- Ed25519 signature verification (RFC 8032, section 5.1.7) -------------------------------

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 % P == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(s):
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % P
    B = (a[1] + a[0]) * (b[1] + b[0]) % P
    C = 2 * a[3] * b[3] * D % P
    Dd = 2 * a[2] * b[2] % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, point):
    result = (0, 1, 1, 0)
    while s:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def _ed25519_verify_python(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, BASE), _add(r, _mul(h, a)))


def ed25519_verify(public, message, signature):
    """True when `signature` is `public`'s signature of `message`."""
    try:  # The `cryptography` package, when installed, is much faster; the result is the same.
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.exceptions import InvalidSignature

        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False
    except ImportError:
        return _ed25519_verify_python(public, message, signature)


# --- The ledger (docs/ledger.md) ---------------------------------------------------------------


def entry_hash(seq, time, kind, payload_sha256_hex, prev_hex):
    text = "attest-ledger-entry-v1\n%d\n%d\n%s\n%s\n%s\n" % (seq, time, kind, payload_sha256_hex, prev_hex)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def checkpoint_message(seq, head_hex, time):
    return ("attest-ledger-checkpoint-v1\n%d\n%s\n%d\n" % (seq, head_hex, time)).encode("utf-8")


class Tampered(Exception):
    pass


def verify(path, public_hex=None):
    notes = []
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        for required in ("manifest.json", "manifest.sig"):
            if required not in names:
                raise Tampered("%s is missing" % required)
        manifest_bytes = z.read("manifest.json")
        manifest = json.loads(manifest_bytes)
        if manifest.get("format") != "attest-package-v1":
            raise Tampered("not an attest-package-v1 manifest")
        if public_hex is None:
            public_hex = z.read("public-key.txt").decode().strip()
            notes.append("verified with the public key inside the package (%s); compare it with the key the organisation published" % public_hex)
        public = bytes.fromhex(public_hex.strip())
        if public_hex.strip() != manifest["public_key"]:
            raise Tampered("the manifest names public key %s, not %s" % (manifest["public_key"], public_hex.strip()))
        signature = bytes.fromhex(z.read("manifest.sig").decode().strip())
        if not ed25519_verify(public, manifest_bytes, signature):
            raise Tampered("the manifest's signature does not verify with key %s" % public_hex)

        # 2. Files.
        listed = {f["path"]: f for f in manifest["files"]}
        for name in sorted(names - {"manifest.json", "manifest.sig"}):
            if name.endswith("/"):
                continue
            if name not in listed:
                raise Tampered("%s is not in the manifest (a file was added)" % name)
        for name, f in sorted(listed.items()):
            if name not in names:
                raise Tampered("%s is in the manifest but not in the package (a file was removed)" % name)
            digest = hashlib.sha256()
            size = 0
            with z.open(name) as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    size += len(block)
            if digest.hexdigest() != f["sha256"] or size != f["size"]:
                raise Tampered("%s does not match its SHA-256 in the manifest (it was changed)" % name)

        # 3. Ledger segment.
        ledger = manifest["ledger"]
        checkpoints = []
        with z.open("ledger/checkpoints.jsonl") as handle:
            for line in handle:
                if line.strip():
                    checkpoints.append(json.loads(line))
        for c in checkpoints:
            if not ed25519_verify(public, checkpoint_message(c["seq"], c["head"], c["time"]), bytes.fromhex(c["signature"])):
                raise Tampered("checkpoint at entry %d: the signature does not verify" % c["seq"])
        first = ledger["first_seq"]
        if first == 1:
            prev = "0" * 64
        else:
            anchors = [c for c in checkpoints if c["seq"] == first - 1]
            if not anchors:
                raise Tampered("no signed checkpoint at entry %d anchors the segment" % (first - 1))
            prev = anchors[0]["head"]
        heads = {}
        for c in checkpoints:
            heads.setdefault(c["seq"], set()).add(c["head"])
        expected = first
        evidence_entries = {}
        with z.open("ledger/entries.jsonl") as handle:
            for line in handle:
                if not line.strip():
                    continue
                e = json.loads(line)
                if e["seq"] != expected:
                    raise Tampered("entry %d: expected entry %d (entries were deleted, inserted or reordered)" % (e["seq"], expected))
                payload = e["payload"].encode("utf-8")
                if hashlib.sha256(payload).hexdigest() != e["payload_sha256"]:
                    raise Tampered("entry %d: its payload does not match its hash" % e["seq"])
                if e["prev"] != prev:
                    raise Tampered("entry %d: its previous-entry hash does not match entry %d" % (e["seq"], e["seq"] - 1))
                prev = entry_hash(e["seq"], e["time"], e["kind"], e["payload_sha256"], e["prev"])
                for head in heads.get(e["seq"], ()):
                    if head != prev:
                        raise Tampered("entry %d: its hash differs from the one signed at a checkpoint" % e["seq"])
                if e["kind"] == "evidence.added":
                    record = json.loads(e["payload"])
                    evidence_entries[record["id"]] = (e["seq"], record)
                expected += 1
        last = expected - 1
        if last != ledger["last_seq"]:
            raise Tampered("the segment ends at entry %d, the manifest says %d" % (last, ledger["last_seq"]))
        signed = max([c["seq"] for c in checkpoints if first <= c["seq"] <= last] or [0])
        if signed < last:
            notes.append("entries %d to %d are after the last checkpoint: chained but not signed" % (signed + 1, last))

        # 4. Evidence.
        records = json.loads(z.read("evidence/evidence.json"))
        for record in records:
            with z.open(record["path"]) as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            if digest != record["sha256"]:
                raise Tampered("evidence #%d (%s): the file does not match its SHA-256" % (record["id"], record["file_name"]))
            entry = evidence_entries.get(record["id"])
            if entry is None:
                continue
            seq, payload = entry
            for key, value in payload.items():
                if record.get(key) != value:
                    raise Tampered("evidence #%d: `%s` differs from what ledger entry %d recorded" % (record["id"], key, seq))
        outside = sum(1 for r in records if r["id"] not in evidence_entries)
        if outside:
            notes.append("%d evidence record(s) were added outside this ledger segment (before or after the period); their files match the signed manifest" % outside)
    summary = "entries %d to %d, %d checkpoints, %d files, %d evidence files" % (
        first, last, len(checkpoints), len(listed), len(records))
    return summary, notes


def main(argv):
    args = argv[1:]
    public = None
    if "--public-key" in args:
        i = args.index("--public-key")
        public = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        summary, notes = verify(args[0], public)
    except Tampered as problem:
        print("TAMPERED: %s" % problem)
        return 1
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as problem:
        print("cannot read the package: %s" % problem, file=sys.stderr)
        return 2
    print("OK: %s" % summary)
    for note in notes:
        print("note: %s" % note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
