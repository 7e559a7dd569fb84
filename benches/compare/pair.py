#!/usr/bin/env python3
"""Times two commands in interleaved pairs and prints medians and ratios.

    benches/compare/pair.py [-n RUNS] [--warmup W] 'COMMAND A' 'COMMAND B'

A and B run in turn (A B A B ...) after W unmeasured runs of each; each
run's wall time (monotonic clock around the child), user and system CPU
seconds and peak RSS (the kernel's accounting of the reaped child, via
wait4) are recorded, and the ratio A/B is taken pair by pair, so that a
machine whose speed drifts during the call still gives a fair ratio. Quote
the medians; min and max show the noise. Output goes to /dev/null.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import time


def run(cmd):
    start = time.monotonic()
    proc = subprocess.Popen(shlex.split(cmd), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"`{cmd}` exited with {os.waitstatus_to_exitcode(status)}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime, "sys": usage.ru_stime, "peak MiB": usage.ru_maxrss / 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=5, help="measured runs of each command")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    for _ in range(args.warmup):
        run(args.a)
        run(args.b)
    pairs = [(run(args.a), run(args.b)) for _ in range(args.n)]
    def row(name, values):
        print(f"{name:<14}{min(values):>10.3f}{statistics.median(values):>10.3f}{max(values):>10.3f}")
    print(f"{'':<14}{'min':>10}{'median':>10}{'max':>10}   ({args.n} pairs)")
    for side, index in (("A", 0), ("B", 1)):
        for key in ("user", "sys", "cpu", "wall", "peak MiB"):
            row(f"{side} {key}", [p[index][key] for p in pairs])
    for key in ("user", "cpu", "wall"):
        row(f"A/B {key}", [p[0][key] / p[1][key] for p in pairs])


if __name__ == "__main__":
    main()
