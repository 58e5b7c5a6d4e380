#!/usr/bin/env python3
"""What takes the space in a binary: its code and data symbols summed by crate.

Usage: benches/size_by_crate.py BINARY [ROWS] [BASELINE]

BINARY must be unstripped (the symbols are what is summed). With fat LTO a generic
function counts for the crate its path names (a `core::…` instantiation for core, even
when posagent's code asked for it). C symbols are grouped by their library (SQLite,
libusb, ring's C and assembly); symbols with no crate path are listed by name. With
BASELINE, each crate's size in that binary is shown beside it and the rows are sorted by
the difference (BASELINE − BINARY): what a build leaves out.
"""

import collections
import re
import subprocess
import sys


def crate_of(name: str) -> str:
    """The crate a demangled symbol belongs to."""
    n = name.lstrip("<")
    n = re.sub(r"^(dyn |impl |&mut |&|\*const |\*mut )+", "", n)
    # `<F as axum::handler::Handler<…>>::call`: a generic parameter's impl of a trait
    # counts for the trait's crate.
    generic = re.match(r"[A-Za-z_][A-Za-z0-9_]* as (.*)", n)
    if generic:
        n = generic.group(1)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", n)
    if m:
        return m.group(1)
    low = name.lower()
    if "sqlite" in low or name.startswith("yy_"):
        return "[C] sqlite"
    if "libusb" in low or name.startswith(("usbi_", "linux_", "op_")):
        return "[C] libusb"
    ring = ("ring_core", "gfp", "aes_", "x25519", "p256", "p384", "bn_", "chacha", "poly1305", "gcm_", "sha",
            "ecp_nistz256", "ecp_nistp", "fiat_", "limbs_", "little_endian_bytes")
    if low.startswith(ring) or "nistz256" in low:
        return "[C/asm] ring"
    return "[no crate] " + name[:40]


def sizes(path: str) -> collections.Counter:
    """Sizes of the text, data and read-only data symbols by crate."""
    nm = ["nm", "-C", "--print-size", "--size-sort", "--radix=d", path]
    out = subprocess.run(nm, capture_output=True, text=True, check=True).stdout
    total = collections.Counter()
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2].lower() not in ("t", "d", "r", "b"):
            continue
        total[crate_of(parts[3])] += int(parts[1])
    return total


def main() -> None:
    binary = sizes(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    all_bytes = sum(binary.values())
    if len(sys.argv) > 3:
        base = sizes(sys.argv[3])
        print(f"symbols: {all_bytes} bytes, baseline {sum(base.values())} bytes")
        diff = sorted(set(base) | set(binary), key=lambda c: base[c] - binary[c], reverse=True)
        for crate in diff[:rows]:
            print(f"{base[crate] - binary[crate]:>10}  {base[crate]:>10} → {binary[crate]:>10}  {crate}")
        return
    print(f"symbols: {all_bytes} bytes")
    for crate, size in binary.most_common(rows):
        print(f"{size:>10} {size * 100 / all_bytes:5.1f}%  {crate}")


if __name__ == "__main__":
    main()
