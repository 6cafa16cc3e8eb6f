#!/usr/bin/env python3
"""Writes seed archives for fuzz-zip-reader into the directory given.

Usage: zip_seeds.py OUTDIR

Each seed reaches a different part of readArchive (DESIGN.md checks 6-10):
valid archives (stored, deflate, data descriptors, Zip64 records, extra
entries) and near misses for every verdict. Contents are placeholders; no
key material is generated or stored.
"""
import io
import struct
import sys
import zipfile
import zlib
from pathlib import Path

REQUIRED = {
    "manifest.json": b'{"FormatVersion": 1, "Name": "seed"}',
    "certificate.pem": b"-----BEGIN CERTIFICATE-----\nseed\n-----END CERTIFICATE-----\n",
    "private_key.pem": b"placeholder, not a key\n",
}
CHAIN = b"-----BEGIN CERTIFICATE-----\nchain\n-----END CERTIFICATE-----\n"


def with_zipfile(entries, compression=zipfile.ZIP_DEFLATED, streamed=False, zip64=False):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            if streamed or zip64:
                with archive.open(name, "w", force_zip64=zip64) as handle:
                    handle.write(data)
            else:
                archive.writestr(name, data)
    return out.getvalue()


def raw_deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def by_hand(entries, comment=b""):
    """entries: dicts with name, data, and optional method, crc, size, flags,
    made_by, attributes overrides."""
    local, central = b"", b""
    for entry in entries:
        data = entry["data"]
        method = entry.get("method", 0)
        payload = raw_deflate(data) if method == 8 else data
        crc = entry.get("crc", zlib.crc32(data))
        size = entry.get("size", len(data))
        flags = entry.get("flags", 0)
        name = entry["name"]
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x5021, crc, len(payload), size,
                             len(name), 0) + name + payload
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, entry.get("made_by", 0x0314), 20, flags, method, 0,
                               0x5021, crc, len(payload), size, len(name), 0, 0, 0, 0,
                               entry.get("attributes", 0o100644 << 16), offset) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(local),
                      len(comment))
    return local + central + end + comment


def required_by_hand(**overrides):
    entries = [{"name": name.encode(), "data": data, "method": 8} for name, data in REQUIRED.items()]
    for entry in entries:
        entry.update(overrides.get(entry["name"].decode(), {}))
    return entries


def seeds():
    full = dict(REQUIRED, **{"chain.pem": CHAIN})
    yield "valid-deflate", with_zipfile(full)
    yield "valid-stored", with_zipfile(REQUIRED, zipfile.ZIP_STORED)
    yield "valid-streamed", with_zipfile(REQUIRED, streamed=True)
    yield "valid-zip64", with_zipfile(REQUIRED, zip64=True)
    yield "valid-extra-entries", with_zipfile(dict(full, **{"notes.txt": b"hello", "read me": b"x"}))
    yield "valid-by-hand", by_hand(required_by_hand())
    yield "empty-archive", by_hand([])
    yield "missing-key", with_zipfile({k: v for k, v in REQUIRED.items() if k != "private_key.pem"})
    yield "nul-name", by_hand(required_by_hand() + [{"name": b"a\0b", "data": b"x"}])
    yield "dotdot-name", by_hand(required_by_hand() + [{"name": b"../x", "data": b"x"}])
    yield "symlink", by_hand(required_by_hand() + [{"name": b"link", "data": b"/", "attributes": 0o120777 << 16}])
    yield "encrypted", by_hand(required_by_hand(**{"private_key.pem": {"flags": 1}}))
    yield "duplicate", by_hand(required_by_hand() + [{"name": b"manifest.json", "data": b"{}"}])
    yield "crc-flipped", by_hand(required_by_hand(**{"certificate.pem": {"crc": 1}}))
    yield "size-lie", by_hand(required_by_hand(**{"manifest.json": {"size": 5}}))
    yield "bomb", by_hand(required_by_hand(**{"manifest.json": {"data": bytes(60000), "size": 1000,
                                                                 "crc": zlib.crc32(bytes(60000))}}))
    yield "bzip2-method", by_hand(required_by_hand(**{"certificate.pem": {"method": 12}}))
    yield "too-many", by_hand(required_by_hand() + [{"name": b"e%d" % i, "data": b""} for i in range(14)])
    yield "declared-too-big", by_hand(required_by_hand(**{"private_key.pem": {"size": 300 * 1024}}))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds():
        (out / f"{name}.zip").write_bytes(data)


if __name__ == "__main__":
    main()
