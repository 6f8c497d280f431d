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

sys.dont_write_bytecode = True  # nothing written beside the tools
from rdwire import enc_varint, fields, fld, header, next_frame  # noqa: E402

SIGN_LEN = 64
FEATURES = 4000
SCAN_FRAMES = 3  # handshake frames come first; later frames are ciphertext


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
                raw = fld(1, val[:SIGN_LEN] + kept)
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
                raw = fld(3, strip_offer(val, notes))
            elif num == 4 and wt == 2 and mode in ("strip-reply", "alter-reply"):
                raw = fld(4, rewrite_reply(val, mode, notes))
        except ValueError:
            pass
        out += raw
    if notes:
        log.write("rewrote: %s\n" % ", ".join(notes))
    return out


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
