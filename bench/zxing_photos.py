#!/usr/bin/env python3
"""Decodes every image of a robustness set directory with zxing-cpp, the peer rescard is measured
against. Prints one line per image (`name ok|-- milliseconds`) and a summary line. The time covers
reading the file, decoding the image format and finding the code, as rescard's own measurement does.

    python3 bench/zxing_photos.py DIR
"""
import os
import statistics
import sys
import time

import zxingcpp
from PIL import Image, ImageOps


def main(directory):
    expected = open(os.path.join(directory, "payload.txt")).read().strip()
    times, read = [], 0
    names = sorted(n for n in os.listdir(directory) if n.endswith((".png", ".jpg")))
    for name in names:
        start = time.perf_counter()
        image = ImageOps.exif_transpose(Image.open(os.path.join(directory, name)))
        results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        ok = any(r.text == expected for r in results)
        ms = (time.perf_counter() - start) * 1000
        times.append(ms)
        read += ok
        print(f"{name:<40} {'ok' if ok else '--'} {ms:8.1f}")
    print(f"zxing-cpp read {read}/{len(names)} median {statistics.median(times):.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1])
