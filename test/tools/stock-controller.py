#!/usr/bin/env python3
"""The controlling side of a stock RustDesk client, as far as the handshake
and login go, against rd-agent's direct listener (libsodium through ctypes).

    stock-controller.py PORT ID AGENT_PK_BASE64 PASSWORD [audio]

It does what RustDesk's client does (PROTOCOL.md §9, §10): opens the SignedId
with the agent's Ed25519 key, reads the IdPk knowing only its fields 1 and 2
(other fields skipped, as rust-protobuf does), seals a fresh key K to the
agent's box key and answers PublicKey{asymmetric_value, symmetric_value} with
no rdesk field, then uses K in both directions with one counter each,
starting at 1. Prints one line per step ("idpk-unknown NUM=VALUE",
"hash", "login-ok", "video") and exits 0 once a video frame arrived. With
"audio" it goes on until the sound came as RustDesk's client reads it:
Misc.audio_format (printed "audio-format RATE CHANNELS") and then an
AudioFrame's data, field 1 ("audio-frame N" with its size), other fields
skipped.
"""
import base64
import ctypes
import ctypes.util
import hashlib
import socket
import sys
import time

sys.dont_write_bytecode = True  # nothing written beside the tools
from rdwire import field_map as fields, fld, header, next_frame  # noqa: E402

sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
if sodium.sodium_init() < 0:
    sys.exit("sodium_init failed")
ull = ctypes.c_ulonglong


class Link:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.key = None
        self.tx = self.rx = 0

    def read_frame(self):
        while True:
            f = next_frame(self.buf)
            if f is not None:
                p, self.buf = f
                return self.open(p)
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d

    def send(self, payload):
        payload = self.seal(payload)
        self.s.sendall(header(len(payload)) + payload)

    @staticmethod
    def nonce(seq):
        return seq.to_bytes(8, "little") + bytes(16)

    def seal(self, p):
        if self.key is None:
            return p
        self.tx += 1
        out = ctypes.create_string_buffer(len(p) + 16)
        sodium.crypto_secretbox_easy(out, p, ull(len(p)), self.nonce(self.tx), self.key)
        return out.raw

    def open(self, c):
        if self.key is None or len(c) <= 1:
            return c
        self.rx += 1
        out = ctypes.create_string_buffer(max(len(c) - 16, 1))
        if sodium.crypto_secretbox_open_easy(out, c, ull(len(c)), self.nonce(self.rx), self.key):
            raise ValueError("frame %d does not decrypt with the shared key" % self.rx)
        return out.raw[:len(c) - 16]


def main():
    port, agent_id, pk_b64, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    agent_pk = base64.b64decode(pk_b64)
    ln = Link(port)
    msg = fields(ln.read_frame())
    signed = fields(msg[3])[1]
    plain = ctypes.create_string_buffer(len(signed))
    plen = ull(0)
    if sodium.crypto_sign_open(plain, ctypes.byref(plen), signed, ull(len(signed)), agent_pk):
        sys.exit("signature does not verify")
    idpk = fields(plain.raw[:plen.value])
    for num in sorted(idpk):
        if num not in (1, 2):
            print("idpk-unknown %d=%s" % (num, idpk[num]))
    if idpk.get(1, b"").decode() != agent_id or len(idpk.get(2, b"")) != 32:
        sys.exit("IdPk names another ID or has no box key")
    their_box = idpk[2]
    my_pk, my_sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(32)
    sodium.crypto_box_keypair(my_pk, my_sk)
    key = ctypes.create_string_buffer(32)
    sodium.crypto_secretbox_keygen(key)
    sealed = ctypes.create_string_buffer(48)
    if sodium.crypto_box_easy(sealed, key.raw, ull(32), bytes(24), their_box, my_sk):
        sys.exit("crypto_box_easy failed")
    ln.send(fld(4, fld(1, my_pk.raw) + fld(2, sealed.raw)))
    ln.key = key.raw
    h = fields(fields(ln.read_frame())[9])
    salt, challenge = h.get(1, b""), h.get(2, b"")
    print("hash")
    h1 = hashlib.sha256(password.encode() + salt).digest()
    resp = hashlib.sha256(h1 + challenge).digest()
    option = fld(10, fld(1, 1))  # supported_decoding{ability_vp9 = 1}
    login = fld(1, agent_id.encode()) + fld(2, resp) + fld(4, b"stock") + fld(6, option) + \
        fld(11, b"1.4.0")
    ln.send(fld(7, login))
    deadline = time.monotonic() + 20
    logged_in = got_video = got_format = False
    want_audio = len(sys.argv) > 5 and sys.argv[5] == "audio"
    while time.monotonic() < deadline:
        m = fields(ln.read_frame())
        if 8 in m:
            r = fields(m[8])
            if 2 not in r:
                sys.exit("login refused: %r" % r.get(1, b""))
            print("login-ok")
            logged_in = True
        elif 6 in m and logged_in and not got_video:
            print("video")
            got_video = True
            if not want_audio:
                return 0
        elif 19 in m and logged_in and 8 in fields(m[19]):
            af = fields(fields(m[19])[8])
            print("audio-format %d %d" % (af.get(1, 0), af.get(2, 0)))
            got_format = True
        elif 11 in m and logged_in and got_format and got_video:
            print("audio-frame %d" % len(fields(m[11]).get(1, b"")))
            return 0
    sys.exit("no video within 20 s" if not got_video else "no sound within 20 s")


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    sys.exit(main())
