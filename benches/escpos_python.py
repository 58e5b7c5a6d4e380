#!/usr/bin/env python3
"""The same 30-line receipt as benches/render_and_encode.rs (`receipt_build_and_encode`),
built and encoded to ESC/POS bytes by python-escpos (Dummy printer, native QR), for the
side-by-side figure in docs/performance.md. Prints the median time per receipt.

    pip install python-escpos==3.1 && python3 benches/escpos_python.py [runs]
"""
import statistics
import sys
import time

from escpos.printer import Dummy


def receipt() -> bytes:
    p = Dummy(profile="TM-T88V")
    p.set(align="center", bold=True)
    p.text("Simulated Store\n")
    p.set(align="left", bold=False)
    for i in range(30):
        name = f"Artikel nummer {i} med ett långt namn"
        p.text(f"{name:<36}{'1 234,50 kr':>12}\n")
    p.set(bold=True)
    p.text(f"{'Totalt':<36}{'37 035,00 kr':>12}\n")
    p.set(bold=False)
    p.qr("SIM01-7C957F99FE0E", native=True, size=6)
    p.cut()
    return p.output


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    receipt()  # warm-up (imports, code page tables)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        out = receipt()
        samples.append(time.perf_counter() - t)
    us = [s * 1e6 for s in samples]
    print(f"python-escpos {__import__('escpos').__version__}: 30-line receipt with native QR, "
          f"median {statistics.median(us):.0f} µs (min {min(us):.0f}, max {max(us):.0f}) over {runs} runs, "
          f"{len(out)} bytes")


if __name__ == "__main__":
    main()
