"""Protobuf and stream-frame helpers for the Python test tools (no
dependencies): varints, fields of one message, and the session framing of
PROTOCOL.md (a little-endian header of 1 to 4 bytes, length << 2 | size - 1).
"""


def varint(buf, i):
    """(value, next index); ValueError when buf ends inside it."""
    v = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("bad varint")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def enc_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(buf):
    """[(number, wire type, value, raw bytes)]; value is int or bytes."""
    out, i = [], 0
    while i < len(buf):
        start = i
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        if i > len(buf):
            raise ValueError("truncated field")
        out.append((num, wt, val, buf[start:i]))
    return out


def field_map(buf):
    """{number: value} of the last occurrence of each field."""
    return {num: val for num, _, val, _ in fields(buf)}


def fld(num, data):
    """One field: a varint for an int, length-delimited for bytes."""
    if isinstance(data, int):
        return enc_varint(num << 3) + enc_varint(data)
    return enc_varint(num << 3 | 2) + enc_varint(len(data)) + data


def header(n):
    """The frame header for a payload of n bytes."""
    h = n << 2
    if n <= 0x3F:
        return bytes([h])
    if n <= 0x3FFF:
        return (h | 1).to_bytes(2, "little")
    if n <= 0x3FFFFF:
        return (h | 2).to_bytes(3, "little")
    return (h | 3).to_bytes(4, "little")


def next_frame(buf):
    """(payload, rest) or None while the frame is incomplete."""
    if not buf:
        return None
    n = (buf[0] & 3) + 1
    if len(buf) < n:
        return None
    ln = int.from_bytes(buf[:n], "little") >> 2
    if len(buf) < n + ln:
        return None
    return buf[n:n + ln], buf[n + ln:]
