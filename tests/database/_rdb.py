"""Builds RDB values by hand: DUMP/RESTORE payloads (with the CRC-64 Redis checks) and whole
RDB files, to feed the module crafted and damaged values of its three types."""
from __future__ import annotations

import struct

_POLY = 0x95AC9329AC4BC9B5  # Jones polynomial 0xad93d23594c935a9, bit-reflected
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)

RDB_VERSION = 10          # Redis 7.0
TYPE_STRING = 0
TYPE_MODULE_2 = 7
OP_UINT, OP_STRING, OP_EOF = 2, 5, 0  # RM_SaveSigned writes an unsigned field too


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC-64/Jones as Redis computes it (reflected, initial value 0, no final xor)."""
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def length(n: int) -> bytes:
    """RDB length encoding."""
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n < 2**32:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def rdb_string(b: bytes) -> bytes:
    return length(len(b)) + b


def module_id(dump: bytes) -> int:
    """The module type id (type name and encoding version) of a DUMP of a module value."""
    assert dump[0] == TYPE_MODULE_2, dump[:1]
    tag = dump[1]
    if tag >> 6 == 0:
        return tag & 0x3F
    if tag >> 6 == 1:
        return ((tag & 0x3F) << 8) | dump[2]
    if tag == 0x80:
        return struct.unpack(">I", dump[2:6])[0]
    return struct.unpack(">Q", dump[2:10])[0]


def module_value(mid: int, fields: list[tuple[str, object]], eof: bool = True) -> bytes:
    """Body of a module value (type byte included): ('u', n) unsigned, ('s', n) signed,
    ('b', bytes) string buffer, ('raw', bytes) bytes as they are."""
    out = bytearray([TYPE_MODULE_2]) + length(mid)
    for kind, v in fields:
        if kind == "u":
            out += length(OP_UINT) + length(int(v))
        elif kind == "s":
            out += length(OP_UINT) + length(int(v) & 0xFFFFFFFFFFFFFFFF)
        elif kind == "b":
            out += length(OP_STRING) + rdb_string(bytes(v))
        elif kind == "raw":
            out += bytes(v)
        else:
            raise ValueError(kind)
    if eof:
        out += length(OP_EOF)
    return bytes(out)


def dump_payload(body: bytes) -> bytes:
    """A RESTORE payload: the value, the RDB version and the CRC-64 of both."""
    data = body + struct.pack("<H", RDB_VERSION)
    return data + struct.pack("<Q", crc64(data))


def body_of(dump: bytes) -> bytes:
    """The value part of a DUMP reply (without version and checksum)."""
    return dump[:-10]


def rdb_file(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A whole RDB file (db 0) holding (key, value body) entries, with its checksum."""
    out = bytearray(b"REDIS%04d" % RDB_VERSION)
    out += b"\xfe\x00"
    for key, body in entries:
        out += body[:1] + rdb_string(key) + body[1:]
    out += b"\xff"
    return bytes(out) + struct.pack("<Q", crc64(bytes(out)))


def string_value(v: bytes) -> bytes:
    return bytes([TYPE_STRING]) + rdb_string(v)


# The module's layouts (RedisAI's encoding version 4), as lists of fields.
def tensor_fields(code: int, bits: int, dims: list[int], data: bytes, ndims: int | None = None):
    f = [("u", code), ("u", bits), ("s", len(dims) if ndims is None else ndims)]
    f += [("s", d) for d in dims]
    return f + [("b", data)]


def model_fields(blob_chunks: list[bytes], total: int | None = None, backend: int = 2,
                 device: bytes = b"CPU", nchunks: int | None = None):
    f = [("u", backend), ("b", device + b"\0"), ("b", b"tag"), ("u", 0), ("u", 0), ("u", 0),
         ("u", 0), ("u", 0)]
    f += [("u", sum(map(len, blob_chunks)) if total is None else total),
          ("u", len(blob_chunks) if nchunks is None else nchunks)]
    return f + [("b", c) for c in blob_chunks]


def script_fields(source: bytes, device: bytes = b"CPU", entry_points=()):
    f = [("b", device + b"\0"), ("b", b""), ("b", source + b"\0"), ("u", len(entry_points))]
    return f + [("b", e + b"\0") for e in entry_points]
