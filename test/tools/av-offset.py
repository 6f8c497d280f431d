#!/usr/bin/env python3
"""Offset between flashes in the picture and clicks in the sound of a
recording (ffprobe and ffmpeg read it; no numpy).

    av-offset.py FILE [MAX_PAIRS]

A flash is a frame whose mean luma rises past the middle (signalstats YAVG);
a click is where the sound's level (RMS over 2 ms) rises past a quarter of
its loudest after at least 300 ms of quiet. Each flash is paired with the
nearest click; prints "median_ms M pairs N offsets_ms A,B,..." where an
offset is click time minus flash time.
"""
import math
import statistics
import struct
import subprocess
import sys


def flashes(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "lavfi", "movie=%s,signalstats" % path.replace(":", "\\:"),
         "-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    times, prev = [], 0.0
    for line in out.splitlines():
        parts = line.split(",")
        if len(parts) < 2 or parts[0] in ("", "N/A"):
            continue
        t, y = float(parts[0]), float(parts[1])
        if y > 128 and prev <= 128:
            times.append(t)
        prev = y
    return times


def audio_start(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts_time",
         "-read_intervals", "%+#1", "-of", "csv=p=0", path],
        capture_output=True, text=True, timeout=60, check=True)
    return float(out.stdout.split()[0])


def clicks(path):
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", "48000",
         "-f", "s16le", "-"], capture_output=True, timeout=120, check=True).stdout
    x = struct.unpack("<%dh" % (len(raw) // 2), raw)
    win = 96  # 2 ms
    lv = [math.sqrt(sum(v * v for v in x[i:i + win]) / win) for i in range(0, len(x) - win, win)]
    if not lv:
        return []
    thr = max(lv) / 4
    start = audio_start(path)
    times, quiet = [], 1000
    for i, v in enumerate(lv):
        if v > thr and quiet >= 150:
            times.append(start + i * win / 48000.0)
        quiet = 0 if v > thr else quiet + 1
    return times


def main():
    path = sys.argv[1]
    most = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    fl, cl = flashes(path), clicks(path)
    offs = []
    for f in fl:
        if not cl:
            break
        c = min(cl, key=lambda t: abs(t - f))
        if abs(c - f) < 0.5:
            offs.append((c - f) * 1000.0)
    offs = offs[:most]
    if len(sys.argv) > 3:
        print("flashes", ",".join("%.3f" % t for t in fl))
        print("clicks", ",".join("%.3f" % t for t in cl))
    med = statistics.median(offs) if offs else float("nan")
    print("median_ms %.1f pairs %d flashes %d clicks %d offsets_ms %s" % (
        med, len(offs), len(fl), len(cl), ",".join("%.0f" % o for o in offs)))


if __name__ == "__main__":
    main()
