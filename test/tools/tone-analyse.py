#!/usr/bin/env python3
"""Dominant frequency and level of a 16-bit PCM WAV file, without numpy.

    tone-analyse.py FILE.wav [SKIP_SECS]

Prints "freq HZ rms_dbfs DB seconds S": the frequency from a Goertzel scan
(coarse, 10 Hz steps, then 1 Hz around the best) over the left channel,
the level as RMS in dB full scale over the whole file after SKIP_SECS.
"""
import math
import struct
import sys
import wave


def goertzel(x, rate, f):
    w = 2 * math.pi * f / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + c * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - c * s1 * s2


def main():
    path = sys.argv[1]
    skip = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    with wave.open(path, "rb") as w:
        ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    if width != 2:
        sys.exit("16-bit PCM only")
    vals = struct.unpack("<%dh" % (len(raw) // 2), raw)
    left = [v / 32768.0 for v in vals[0::ch]][int(skip * rate):]
    if not left:
        sys.exit("no samples")
    rms = math.sqrt(sum(v * v for v in left) / len(left))
    db = 20 * math.log10(rms) if rms > 0 else -200.0
    coarse, fine = left[: rate // 10], left[: rate // 2]
    best = max(range(50, 8000, 10), key=lambda f: goertzel(coarse, rate, f))
    best = max(range(best - 10, best + 11), key=lambda f: goertzel(fine, rate, f))
    print("freq %d rms_dbfs %.2f seconds %.3f" % (best, db, n / rate))


if __name__ == "__main__":
    main()
