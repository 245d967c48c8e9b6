"""Just enough of the protobuf wire format to read and write ML-Agents' `.demo` files.

Messages are built field by field with `MessageWriter` and parsed into
`{field number: [raw values]}` with `parse_message`; format.py says which
field is which. Avoiding the protobuf package keeps the install small and lets us
decode packed float observations straight into numpy.

Wire types: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
_UINT64_MASK = (1 << 64) - 1


class WireError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


def encode_varint(value: int) -> bytes:
    # Negative int32/int64 values take ten bytes: they are sent as their 64-bit two's complement.
    value &= _UINT64_MASK
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The unsigned varint at `pos` and the position after it."""
    result, shift = 0, 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than ten bytes")


def as_int32(value: int) -> int:
    """A decoded varint read as a signed 32-bit integer (protobuf's int32 truncation)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class MessageWriter:
    """Appends fields in the order they are written; proto3 defaults (0, False, "") are skipped."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def _tag(self, field: int, wire_type: int) -> None:
        self._parts.append(encode_varint(field << 3 | wire_type))

    def varint(self, field: int, value: int | bool) -> MessageWriter:
        if value:
            self._tag(field, VARINT)
            self._parts.append(encode_varint(int(value)))
        return self

    def float32(self, field: int, value: float) -> MessageWriter:
        if value != 0.0:
            self._tag(field, FIXED32)
            self._parts.append(struct.pack("<f", value))
        return self

    def raw(self, field: int, payload: bytes) -> MessageWriter:
        """A length-delimited field: bytes, a string's UTF-8 or an embedded message (written even if empty)."""
        self._tag(field, LENGTH_DELIMITED)
        self._parts.append(encode_varint(len(payload)))
        self._parts.append(payload)
        return self

    def string(self, field: int, value: str) -> MessageWriter:
        return self.raw(field, value.encode("utf-8")) if value else self

    def message(self, field: int, message: MessageWriter) -> MessageWriter:
        return self.raw(field, message.to_bytes())

    def packed_varints(self, field: int, values: Iterable[int | bool]) -> MessageWriter:
        payload = b"".join(encode_varint(int(v)) for v in values)
        return self.raw(field, payload) if payload else self

    def packed_floats(self, field: int, values: NDArray[np.float32]) -> MessageWriter:
        payload = np.ascontiguousarray(values, dtype="<f4").tobytes()
        return self.raw(field, payload) if payload else self

    def to_bytes(self) -> bytes:
        return b"".join(self._parts)


# A parsed message: every occurrence of every field, in file order. Varints are ints,
# length-delimited and fixed-width fields are memoryviews of the input (no copy).
Fields = dict[int, list["int | memoryview"]]


def parse_message(data: bytes | memoryview) -> Fields:
    view = memoryview(data)
    fields: Fields = {}
    pos, end = 0, len(view)
    while pos < end:
        key, pos = decode_varint(view, pos)
        field, wire_type = key >> 3, key & 7
        value: int | memoryview
        if wire_type == VARINT:
            value, pos = decode_varint(view, pos)
        elif wire_type == LENGTH_DELIMITED:
            size, pos = decode_varint(view, pos)
            value = view[pos : pos + size]
            pos += size
        elif wire_type in (FIXED32, FIXED64):
            size = 4 if wire_type == FIXED32 else 8
            value = view[pos : pos + size]
            pos += size
        else:
            raise WireError(f"unsupported wire type {wire_type} for field {field}")
        if pos > end or field == 0:
            raise WireError("truncated or malformed message")
        fields.setdefault(field, []).append(value)
    return fields


def _last(fields: Fields, field: int) -> int | memoryview | None:
    values = fields.get(field)
    return values[-1] if values else None  # a repeated singular field: the last one wins, as in protobuf


def last_int(fields: Fields, field: int, default: int = 0) -> int:
    """A singular varint field (int32, bool, enum)."""
    value = _last(fields, field)
    if value is None:
        return default
    if not isinstance(value, int):
        raise WireError(f"field {field} should be a varint")
    return value


def last_float(fields: Fields, field: int) -> float:
    """A singular float field (fixed 32-bit)."""
    value = _last(fields, field)
    if value is None:
        return 0.0
    if isinstance(value, int) or len(value) != 4:
        raise WireError(f"field {field} should be a 32-bit float")
    return float(struct.unpack("<f", value)[0])


def last_bytes(fields: Fields, field: int) -> memoryview:
    """A singular length-delimited field (bytes, string or embedded message); empty if absent."""
    value = _last(fields, field)
    if isinstance(value, int):
        raise WireError(f"field {field} should be length-delimited")
    return memoryview(b"") if value is None else value


def last_string(fields: Fields, field: int) -> str:
    return bytes(last_bytes(fields, field)).decode("utf-8")


def repeated_ints(fields: Fields, field: int) -> list[int]:
    """A repeated varint field, packed or not (parsers must accept both)."""
    out: list[int] = []
    for value in fields.get(field, ()):
        if isinstance(value, int):
            out.append(value)
            continue
        pos = 0
        while pos < len(value):
            item, pos = decode_varint(value, pos)
            out.append(item)
    return out


def repeated_floats(fields: Fields, field: int) -> NDArray[np.float32]:
    """A repeated float field, packed (one block) or not (one 4-byte value per occurrence)."""
    chunks = [np.frombuffer(value, dtype="<f4") for value in fields.get(field, ()) if isinstance(value, memoryview)]
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def repeated_bytes(fields: Fields, field: int) -> list[memoryview]:
    return [value for value in fields.get(field, ()) if isinstance(value, memoryview)]
