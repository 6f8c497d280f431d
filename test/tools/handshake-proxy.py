#!/usr/bin/env python3
"""A TCP proxy in front of rd-relay that rewrites the session handshake.

    handshake-proxy.py LISTEN_PORT UPSTREAM_PORT MODE_FILE LOG_FILE

Listens on 127.0.0.1:LISTEN_PORT and forwards every connection to
127.0.0.1:UPSTREAM_PORT, as someone on the path (a relay operator) can. The
first frame from each connection (its RequestRelay) passes as it is; in the
next frames of either direction the proxy looks for the handshake messages
(Message.signed_id = 3, Message.public_key = 4) and, depending on the mode
(one word, read from MODE_FILE for every new connection), rewrites them:

    pass          forward everything unchanged
    strip-offer   remove field 4000 (rdesk_features) from SignedId and from
                  the IdPk signed inside SignedId.id (the signature is kept:
                  someone on the path cannot sign)
    strip-reply   remove field 4000 from the controller's PublicKey
    alter-reply   set bit 8 in the controller's PublicKey field 4000

Each rewrite is written to LOG_FILE as one line ("rewrote ..."), so a test
can tell that the attack was really played.
"""
import asyncio
import sys

SIGN_LEN = 64
FEATURES = 4000
SCAN_FRAMES = 3  # handshake frames come first; later frames are ciphertext


def varint(buf, i):
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
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
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
            if i + n > len(buf):
                raise ValueError("truncated field")
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


def len_field(num, data):
    return enc_varint(num << 3 | 2) + enc_varint(len(data)) + data


def strip_offer(sid, notes):
    out = b""
    for num, wt, val, raw in fields(sid):
        if num == FEATURES:
            notes.append("removed SignedId.rdesk_features=%d" % val)
            continue
        if num == 1 and wt == 2 and len(val) > SIGN_LEN:
            idpk, kept = val[SIGN_LEN:], b""
            try:
                parts = fields(idpk)
            except ValueError:
                parts = None
            if parts is not None:
                for n2, _, v2, r2 in parts:
                    if n2 == FEATURES:
                        notes.append("removed signed IdPk.rdesk_features=%d" % v2)
                    else:
                        kept += r2
                raw = len_field(1, val[:SIGN_LEN] + kept)
        out += raw
    return out


def rewrite_reply(pk, mode, notes):
    out = b""
    for num, wt, val, raw in fields(pk):
        if num == FEATURES and wt == 0 and not (mode == "alter-reply" and val & 0x100):
            if mode == "strip-reply":
                notes.append("removed PublicKey.rdesk_features=%d" % val)
                continue
            notes.append("changed PublicKey.rdesk_features %d -> %d" % (val, val | 0x100))
            raw = enc_varint(FEATURES << 3) + enc_varint(val | 0x100)
        out += raw
    return out


def rewrite(payload, mode, log):
    """The payload of one session frame, rewritten per mode."""
    try:
        top = fields(payload)
    except ValueError:
        return payload
    out, notes = b"", []
    for num, wt, val, raw in top:
        try:
            if num == 3 and wt == 2 and mode == "strip-offer":
                raw = len_field(3, strip_offer(val, notes))
            elif num == 4 and wt == 2 and mode in ("strip-reply", "alter-reply"):
                raw = len_field(4, rewrite_reply(val, mode, notes))
        except ValueError:
            pass
        out += raw
    if notes:
        log.write("rewrote: %s\n" % ", ".join(notes))
    return out


def header(n):
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


async def pump(r, w, mode, skip, log):
    """Forward r to w; frames after the first `skip` ones are offered to
    rewrite() until SCAN_FRAMES were seen, then bytes pass untouched."""
    buf, seen = b"", 0
    try:
        while True:
            d = await r.read(65536)
            if not d:
                break
            if seen >= SCAN_FRAMES or mode == "pass":
                w.write(buf + d)
                buf = b""
                await w.drain()
                continue
            buf += d
            while seen < SCAN_FRAMES and (f := next_frame(buf)) is not None:
                payload, buf = f
                if seen >= skip:
                    payload = rewrite(payload, mode, log)
                w.write(header(len(payload)) + payload)
                seen += 1
            if seen >= SCAN_FRAMES:
                w.write(buf)
                buf = b""
            await w.drain()
    except (ConnectionError, OSError):
        pass
    w.close()


async def handle(cr, cw, upstream, modefile, log):
    try:
        ur, uw = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        cw.close()
        return
    try:
        mode = open(modefile).read().split()[0]
    except (OSError, IndexError):
        mode = "pass"
    await asyncio.gather(pump(cr, uw, mode, 1, log), pump(ur, cw, mode, 0, log))


async def main():
    listen, upstream, modefile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    log = open(sys.argv[4], "a", buffering=1)
    srv = await asyncio.start_server(lambda r, w: handle(r, w, upstream, modefile, log),
                                     "127.0.0.1", listen)
    log.write("proxy up\n")
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    asyncio.run(main())
