#!/usr/bin/env python3
"""Side-by-side comparison runner: Shoal against a hand-written baseline and peers.

A workload is a data generator command plus a list of named contenders (command lines)
whose stdout must be byte-identical. For each workload the runner generates the data if
it is missing, builds the Rust contenders once, runs every contender --runs times
interleaved round-robin (A1 B1 C1 A2 B2 C2 ...) so machine noise hits all alike,
measures wall time, CPU time and peak memory, checks the outputs against the first
contender's, and prints a Markdown table.

Run it with the venv's python (see setup-venv.sh and README.md):

    benches/compare/.venv/bin/python benches/compare/compare.py weather --rows 100000000
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import difflib
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DATA = HERE / "data"
SAMPLE_EVERY = 0.050  # seconds between RSS samples of the process tree
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


# --------------------------------------------------------------------------- workloads


@dataclasses.dataclass
class Contender:
    """A named command line. Tokens may use {data} (the input path), {ex} (the Rust
    examples directory), {py} (this Python) and {here} (benches/compare)."""

    name: str
    argv: list[str]
    example: str | None = None  # the Rust example it needs built, if any
    note: str = ""


def rust(name: str, example: str, *args: str, note: str = "") -> Contender:
    return Contender(name, ["{ex}/" + example, *args], example=example, note=note)


def py(name: str, script: str, *args: str, note: str = "") -> Contender:
    return Contender(name, ["{py}", "{here}/" + script, *args], note=note)


@dataclasses.dataclass
class Workload:
    name: str
    description: str
    default_rows: int
    data: callable  # rows -> Path of the input (a file or a directory)
    generate: callable  # (rows, out Path) -> argv that writes the input to `out`
    examples: list[str]  # Rust examples to build before running
    reference: str  # contender the ratio column is relative to
    contenders: list[Contender]



def sales_contenders():
    """The sales report's contenders: one CSV file (sales) or a tree of them (smallfiles)."""
    return [
        rust("shoal", "sales", "--threads", "2", "{data}", note="Shoal example, 2 threads"),
        rust("shoal-1t", "sales", "--threads", "1", "{data}", note="Shoal example, 1 thread"),
        py("duckdb", "sales_duckdb.py", "{data}", note="DuckDB SQL, all cores"),
        py("polars", "sales_polars.py", "{data}", note="polars lazy, streaming engine"),
        py("pool", "sales_pool.py", "--processes", "2", "{data}",
           note="Python multiprocessing.Pool + csv module, 2 processes"),
    ]

WORKLOADS = {
    "weather": Workload(
        name="weather",
        description="One Billion Row Challenge: min/mean/max temperature per station",
        default_rows=10_000_000,
        data=lambda rows: DATA / f"weather-{rows}.txt",
        generate=lambda rows, out: [
            "cargo", "run", "--release", "-p", "shoal-datasets", "--",
            "weather", "--rows", str(rows), "--out", str(out),
        ],
        examples=["weather", "weather_baseline", "weather_tuned"],
        reference="shoal",
        contenders=[
            rust("shoal", "weather", "--threads", "2", "{data}", note="Shoal example, 2 threads"),
            rust("shoal-1t", "weather", "--threads", "1", "{data}", note="Shoal example, 1 thread"),
            rust("shoal-2p1t", "weather", "--processes", "2", "--threads", "1", "{data}",
                 note="Shoal example, 2 worker processes x 1 thread"),
            rust("baseline", "weather_baseline", "--threads", "2", "{data}",
                 note="hand-written Rust, same parsing and map, mmap + std threads"),
            rust("baseline-1t", "weather_baseline", "--threads", "1", "{data}",
                 note="hand-written Rust, 1 thread"),
            rust("tuned", "weather_tuned", "--threads", "2", "{data}",
                 note="hand-tuned 1BRC-style Rust (issue 15.7's yardstick): SWAR, branch-free parse"),
            py("duckdb", "weather_duckdb.py", "{data}", note="DuckDB SQL, all cores"),
            py("polars", "weather_polars.py", "{data}", note="polars lazy, streaming engine"),
            py("pool", "weather_pool.py", "--processes", "2", "{data}",
               note="Python multiprocessing.Pool, 2 processes"),
        ],
    ),
    "keys": Workload(
        name="keys",
        description="High cardinality: the weather report over rows of `K<n>;-12.3` with 2 keys "
                    "drawn per 5 rows (50M rows: 20M keys requested, about 18.4M distinct)",
        default_rows=50_000_000,
        data=lambda rows: DATA / f"keys-{rows}.txt",
        generate=lambda rows, out: [
            "cargo", "run", "--release", "-p", "shoal-datasets", "--",
            "keys", "--rows", str(rows), "--keys", str(max(1, rows * 2 // 5)), "--out", str(out),
        ],
        examples=["weather"],
        reference="shoal",
        contenders=[
            rust("shoal", "weather", "--threads", "2", "{data}", note="Shoal weather example, 2 threads"),
            rust("shoal-1g", "weather", "--threads", "2", "--memory-limit", "1G", "{data}",
                 note="Shoal weather example, 2 threads, --memory-limit 1G"),
            rust("shoal-2p1t", "weather", "--processes", "2", "--threads", "1", "{data}",
                 note="Shoal weather example, 2 worker processes x 1 thread"),
            py("duckdb", "keys_duckdb.py", "{data}", note="DuckDB SQL (sorted and written by DuckDB), all cores"),
            py("duckdb-1g", "keys_duckdb.py", "--memory-limit", "1GB", "{data}",
               note="DuckDB SQL under memory_limit = 1GB"),
        ],
    ),
    "sales": Workload(
        name="sales",
        description="CSV with quoted commas, quotes and line breaks: 2025 quantity and revenue "
                    "per region and product",
        default_rows=10_000_000,
        data=lambda rows: DATA / f"sales-{rows}.csv",
        generate=lambda rows, out: [
            "cargo", "run", "--release", "-p", "shoal-datasets", "--",
            "sales", "--rows", str(rows), "--out", str(out),
        ],
        examples=["sales"],
        reference="shoal",
        contenders=sales_contenders(),
    ),
    "smallfiles": Workload(
        name="smallfiles",
        description="The sales report over many small CSV files in nested folders "
                    "(--rows counts files)",
        default_rows=20_000,
        data=lambda files: DATA / f"smallfiles-{files}",
        generate=lambda files, out: [
            "cargo", "run", "--release", "-p", "shoal-datasets", "--",
            "smallfiles", "--files", str(files), "--out", str(out),
        ],
        examples=["sales"],
        reference="shoal",
        contenders=sales_contenders(),
    ),
    "access_logs": Workload(
        name="access_logs",
        description="Access logs: status counts, top paths by bytes, requests per UTC hour, malformed lines",
        default_rows=5_000_000,
        # --rows is the total line count: files of 100,000 lines (fewer when rows is
        # smaller), every tenth file gzip-compressed.
        data=lambda rows: DATA / f"access-logs-{rows}",
        generate=lambda rows, out: [
            "cargo", "run", "--release", "-p", "shoal-datasets", "--",
            "logs", "--files", str(max(1, rows // 100_000)),
            "--lines-per-file", str(rows // max(1, rows // 100_000)), "--out", str(out),
        ],
        examples=["access_logs"],
        reference="shoal",
        contenders=[
            rust("shoal", "access_logs", "--threads", "2", "{data}", note="Shoal example, 2 threads"),
            rust("shoal-1t", "access_logs", "--threads", "1", "{data}", note="Shoal example, 1 thread"),
            py("duckdb", "access_logs_duckdb.py", "{data}", note="DuckDB SQL (read_csv + regexp_extract), all cores"),
            py("polars", "access_logs_polars.py", "{data}",
               note="polars lazy (scan_csv + str.extract_groups), streaming engine"),
            py("pool", "access_logs_pool.py", "--processes", "2", "{data}",
               note="Python multiprocessing.Pool + re, 2 processes"),
        ],
    ),
}


# --------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def target_dir() -> Path:
    t = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    return t if t.is_absolute() else ROOT / t


def data_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def warm_page_cache(path: Path) -> None:
    """Reads the input once so the first measured run does not pay for the disk."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb", buffering=0) as fh:
            while fh.read(16 * MIB):
                pass


def ensure_data(w: Workload, rows: int) -> Path:
    path = w.data(rows)
    if path.exists():
        log(f"data: {path} exists ({data_bytes(path) / MIB:.1f} MiB)")
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    # Generate into a scratch directory and rename, so an interrupted run leaves no
    # half-written input behind that a later run would take for complete.
    scratch = Path(tempfile.mkdtemp(prefix=f".gen-{path.name}-", dir=DATA))
    try:
        argv = w.generate(rows, scratch / path.name)
        log(f"data: generating {path}\n  $ {shlex.join(argv)}")
        subprocess.run(argv, cwd=ROOT, check=True)
        (scratch / path.name).rename(path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log(f"data: {path} ({data_bytes(path) / MIB:.1f} MiB)")
    return path


def build(examples: list[str]) -> set[str]:
    """Builds the Rust examples; returns the ones that failed to build."""
    if not examples:
        return set()

    def cargo(names: list[str]) -> bool:
        argv = ["cargo", "build", "--release"] + [a for n in names for a in ("--example", n)]
        log(f"build: $ {shlex.join(argv)}")
        return subprocess.run(argv, cwd=ROOT).returncode == 0

    if cargo(examples):
        return set()
    if len(examples) == 1:
        return set(examples)
    log("build: failed together; building each example on its own")
    return {e for e in examples if not cargo([e])}


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the whole tree (waited-for descendants)
    peak_rss: int  # bytes: max over samples of the RSS sum of the process tree
    peak_anon: int  # bytes: the same for RSS minus shared (file-backed) pages
    maxrss: int  # bytes: ru_maxrss of the top process (and its reaped children)
    maxrss_floor: int  # bytes: this runner's own high-water mark when it spawned the run
    exit: int
    stdout: bytes
    stderr: bytes


def tree_pids(pid: int) -> list[int] | None:
    """The pid and its descendants, from /proc/PID/task/TID/children: it reads
    only this tree, where psutil's children(recursive=True) scans every
    process on the machine (milliseconds of CPU per sample on a 2-core box,
    taken from the contender being measured). None when the kernel lacks it."""
    out, i = [pid], 0
    while i < len(out):
        p = out[i]
        i += 1
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    out.extend(int(c) for c in f.read().split())
            except FileNotFoundError:
                if p == pid and t == str(pid):
                    return None
            except OSError:
                pass
    return out


def tree_memory(pid: int) -> tuple[int, int]:
    """RSS and anonymous (RSS minus shared) bytes summed over the tree."""
    pids = tree_pids(pid)
    if pids is None:
        return psutil_tree_memory(pid)
    rss = anon = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as f:
                fields = f.read().split()
        except OSError:
            continue
        resident, shared = int(fields[1]) * PAGE, int(fields[2]) * PAGE
        rss += resident
        anon += resident - shared
    return rss, anon


def psutil_tree_memory(pid: int) -> tuple[int, int]:
    try:
        top = psutil.Process(pid)
        procs = [top] + top.children(recursive=True)
    except psutil.Error:
        return 0, 0
    rss = anon = 0
    for p in procs:
        try:
            m = p.memory_info()
        except psutil.Error:
            continue
        rss += m.rss
        anon += m.rss - m.shared
    return rss, anon


def sample_tree(pid: int, stop: threading.Event, peaks: list[int]) -> None:
    while not stop.is_set():
        rss, anon = tree_memory(pid)
        peaks[0] = max(peaks[0], rss)
        peaks[1] = max(peaks[1], anon)
        stop.wait(SAMPLE_EVERY)


def paired_ratio(runs: list[Run], ref: list[Run]) -> float | None:
    """The median over rounds of this contender's wall time divided by the
    reference's in the same round. Rounds run every contender back to back,
    so each ratio compares two runs close in time: on a machine whose speed
    drifts between rounds this is steadier than the ratio of the two
    medians, which may come from different rounds."""
    if len(runs) != len(ref) or not runs:
        return None
    return statistics.median(a.wall / b.wall for a, b in zip(runs, ref))


def run_once(argv: list[str], timeout: float | None) -> Run:
    # Linux carries the spawning process's high-water mark across fork + exec into the
    # child's ru_maxrss, so a child's ru_maxrss is never below this runner's own.
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        stop, peaks = threading.Event(), [0, 0]
        sampler = threading.Thread(target=sample_tree, args=(proc.pid, stop, peaks), daemon=True)
        sampler.start()
        # Wait without reaping, so the sampler never looks at a recycled pid; then reap
        # with wait4 for the rusage.
        deadline = None if timeout is None else start + timeout
        while True:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            if info is not None:
                break
            if deadline is not None and time.perf_counter() > deadline:
                deadline = None
                kill_tree(proc.pid)
            time.sleep(0.005)
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            peak_rss=peaks[0],
            peak_anon=peaks[1],
            maxrss=usage.ru_maxrss * 1024,
            maxrss_floor=floor,
            exit=proc.returncode,
            stdout=out.read(),
            stderr=err.read(),
        )


def kill_tree(pid: int) -> None:
    try:
        top = psutil.Process(pid)
        procs = top.children(recursive=True) + [top]
    except psutil.Error:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass


def first_diff(expected: bytes, got: bytes, context: int = 3) -> str:
    a = expected.decode("utf-8", "replace").splitlines(keepends=True)
    b = got.decode("utf-8", "replace").splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, "expected", "got", n=context, lineterm="\n"))
    shown = lines[:40]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in shown)
    if len(lines) > len(shown):
        text += f"... ({len(lines) - len(shown)} more diff lines)\n"
    return text or "(outputs differ only in bytes invisible to a line diff)\n"


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", choices=sorted(WORKLOADS))
    ap.add_argument("--rows", type=int, help="input size (default: per workload)")
    ap.add_argument("--runs", type=int, default=3, help="runs per contender (default 3)")
    ap.add_argument("--only", help="comma-separated contenders to run (in workload order)")
    ap.add_argument("--json", type=Path, help="save the raw results to this file")
    ap.add_argument("--no-build", action="store_true", help="use the Rust binaries as built")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run (default 3600)")
    ap.add_argument("--list", action="store_true", help="list the contenders and exit")
    args = ap.parse_args()

    w = WORKLOADS[args.workload]
    rows = args.rows or w.default_rows
    contenders = w.contenders
    if args.list:
        for c in contenders:
            print(f"{c.name:14} {c.note}")
        return 0
    if args.only:
        wanted = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = set(wanted) - {c.name for c in contenders}
        if unknown:
            ap.error(f"unknown contenders: {', '.join(sorted(unknown))}")
        contenders = [c for c in contenders if c.name in wanted]

    data = ensure_data(w, rows)
    needed = sorted({c.example for c in contenders if c.example})
    broken = set() if args.no_build else build(needed)

    subst = {"data": str(data), "ex": str(target_dir() / "release" / "examples"),
             "py": sys.executable, "here": str(HERE)}
    status: dict[str, str] = {}
    argvs: dict[str, list[str]] = {}
    for c in contenders:
        argv = [tok.format(**subst) for tok in c.argv]
        argvs[c.name] = argv
        if c.example in broken:
            status[c.name] = "BUILD FAILED"
        elif shutil.which(argv[0]) is None:
            status[c.name] = "MISSING"
        elif argv[1:2] and argv[1].endswith(".py") and not Path(argv[1]).is_file():
            status[c.name] = "MISSING"
        else:
            status[c.name] = "ok"
    active = [c for c in contenders if status[c.name] == "ok"]
    for c in contenders:
        if status[c.name] != "ok":
            log(f"{c.name}: {status[c.name]} ({argvs[c.name][0]})")

    warm_page_cache(data)
    load_before = os.getloadavg()[0]
    runs: dict[str, list[Run]] = {c.name: [] for c in contenders}
    for r in range(args.runs):
        for c in active:
            if status[c.name] != "ok":
                continue  # failed earlier: do not spend more time on it
            res = run_once(argvs[c.name], args.timeout)
            runs[c.name].append(res)
            log(f"run {r + 1}/{args.runs} {c.name:14} {res.wall:8.3f} s  "
                f"cpu {res.cpu:7.2f} s  rss {res.peak_rss / MIB:7.1f} MiB  exit {res.exit}")
            if res.exit != 0:
                status[c.name] = f"FAIL (exit {res.exit})"
                tail = res.stderr.decode("utf-8", "replace").strip().splitlines()[-10:]
                log("  stderr:\n    " + "\n    ".join(tail))

    # Output check: every run of every contender against the first contender's first run.
    expected_from = next((c.name for c in active if runs[c.name] and status[c.name] == "ok"), None)
    expected = runs[expected_from][0].stdout if expected_from else None
    diffs: dict[str, str] = {}
    for c in active:
        if status[c.name] != "ok":
            continue
        bad = next((x for x in runs[c.name] if x.stdout != expected), None)
        if bad is not None:
            status[c.name] = "FAIL (output)"
            diffs[c.name] = first_diff(expected, bad.stdout)

    ref = w.reference if runs.get(w.reference) and status[w.reference] == "ok" else expected_from
    ref_median = statistics.median(x.wall for x in runs[ref]) if ref else None

    # ------------------------------------------------------------------ report
    size = data_bytes(data)
    load = f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    print(f"## {w.name}: {rows:,} rows ({size / MIB:,.1f} MiB), {args.runs} runs each\n")
    print(f"{w.description}. {datetime.datetime.now().isoformat(timespec='seconds')}, "
          f"{platform.node()}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
          f"{versions()}; {load}.\n")
    print(f"| contender | status | median s | min s | max s | × {ref or '-'} | paired × {ref or '-'} | "
          "CPU s | peak RSS MiB | peak anon MiB | maxrss MiB |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c in contenders:
        rs = runs[c.name]
        if not rs:
            print(f"| {c.name} | {status[c.name]} |  |  |  |  |  |  |  |  |  |")
            continue
        walls = [x.wall for x in rs]
        med = statistics.median(walls)
        ratio = f"{med / ref_median:.2f}" if ref_median and status[c.name] == "ok" else ""
        paired = paired_ratio(rs, runs[ref]) if ref and status[c.name] == "ok" else None
        print(f"| {c.name} | {status[c.name]} | {med:.3f} | {min(walls):.3f} | {max(walls):.3f} "
              f"| {ratio} | {'' if paired is None else f'{paired:.2f}'} "
              f"| {statistics.median(x.cpu for x in rs):.2f} "
              f"| {max(x.peak_rss for x in rs) / MIB:.1f} "
              f"| {max(x.peak_anon for x in rs) / MIB:.1f} "
              f"| {fmt_maxrss(rs)} |")
    print()
    if expected_from:
        n = expected.count(b"\n")
        print(f"Outputs compared byte for byte against `{expected_from}` "
              f"({n:,} lines, {len(expected):,} bytes).\n")
    for name, diff in diffs.items():
        print(f"**{name}: output differs from `{expected_from}`:**\n\n```diff\n{diff}```\n")
    print("Commands:\n")
    for c in contenders:
        print(f"- `{c.name}`: `{shlex.join(argvs[c.name])}`" + (f" ({c.note})" if c.note else ""))
    print()

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "workload": w.name, "rows": rows, "data": str(data), "data_bytes": size,
            "runs": args.runs, "reference": ref, "expected_from": expected_from,
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "cpus": os.cpu_count(), "load": load,
            "versions": versions(),
            "contenders": [{
                "name": c.name, "argv": argvs[c.name], "status": status[c.name],
                "note": c.note, "diff": diffs.get(c.name),
                "runs": [{k: v for k, v in dataclasses.asdict(x).items()
                          if k not in ("stdout", "stderr")} for x in runs[c.name]],
            } for c in contenders],
        }, indent=2) + "\n")
        log(f"json: {args.json}")
    return 0 if all(s == "ok" or s in ("MISSING", "BUILD FAILED") for s in status.values()) else 1


def fmt_maxrss(rs: list[Run]) -> str:
    """The top process's ru_maxrss, or `≤F` when it did not rise above the runner's floor."""
    top = max(rs, key=lambda x: x.maxrss)
    if top.maxrss <= top.maxrss_floor:
        return f"≤{top.maxrss_floor / MIB:.0f}"
    return f"{top.maxrss / MIB:.1f}"


def versions() -> str:
    out = []
    for dist in ("duckdb", "polars"):
        try:
            out.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout
        out.append(" ".join(rustc.split()[:2]))
    except OSError:
        pass
    return ", ".join(out)


if __name__ == "__main__":
    sys.exit(main())
