#!/usr/bin/env python3
"""Zeroes the CUDA fatbin entries of a shared library that a given GPU will never load.

The CUDA prebuilt of node-llama-cpp (libggml-cuda.so) carries cubins for many GPU generations
in its .nv_fatbin section (~130 MB, already compressed, so xz cannot shrink it). For a run on
one known GPU (e.g. sm_90, the H100) only that generation's cubin is read: overwriting the
payloads of all other entries with zeros keeps every offset and size (no relinking), and the
file then compresses to a fraction. The entry headers are kept, so the runtime still sees a
well-formed fatbin and simply picks the matching cubin.

usage: prune-fatbin.py IN OUT --keep-sm 90 [--keep-ptx]   (prints what it kept)
"""
import argparse
import struct
import subprocess
import sys

MAGIC = 0xBA55ED50


def section(path):
    out = subprocess.run(['readelf', '-SW', path], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if '.nv_fatbin' in line:
            parts = line.replace('[', ' ').replace(']', ' ').split()
            i = parts.index('.nv_fatbin')
            return int(parts[i + 3], 16), int(parts[i + 4], 16)
    sys.exit('no .nv_fatbin section in ' + path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('src')
    ap.add_argument('dst')
    ap.add_argument('--keep-sm', type=int, action='append', required=True)
    ap.add_argument('--keep-ptx', action='store_true', help='keep PTX entries too (JIT fallback)')
    a = ap.parse_args()
    data = bytearray(open(a.src, 'rb').read())
    off, size = section(a.src)
    end = off + size
    pos = off
    kept = {}
    zeroed = 0
    while pos + 16 <= end:
        magic, _ver, hsize, fat = struct.unpack_from('<IHHQ', data, pos)
        if magic != MAGIC:
            pos += 8  # padding between fatbins
            continue
        entry = pos + hsize
        stop = entry + fat
        while entry < stop:
            kind, _v, ehsize, padded = struct.unpack_from('<HHIQ', data, entry)
            sm = struct.unpack_from('<I', data, entry + 28)[0]
            payload = entry + ehsize
            keep = sm in a.keep_sm and (kind == 2 or (kind == 1 and a.keep_ptx))
            label = ('elf' if kind == 2 else 'ptx' if kind == 1 else f'kind{kind}') + f'_sm{sm}'
            if keep:
                kept[label] = kept.get(label, 0) + 1
            else:
                data[payload:payload + padded] = bytes(padded)
                zeroed += padded
            entry = payload + padded
        pos = stop
    open(a.dst, 'wb').write(data)
    print(f'kept {kept}; zeroed {zeroed} bytes of {size}')


main()
