#!/usr/bin/env python3
"""Turns bench/run.sh's raw JSON lines into the markdown table of docs/PERFORMANCE.md.

Each figure is the median over the repetitions of one label (W1.c64.beacon, W2.i100.nginx, ...);
ratios are Beacon over its reference from the same run (nginx for reads, etcd for writes and
watches). Targets are those of issue #3; "met" compares the median with the target, and a row
whose data is missing says so instead of guessing. Errors and non-2xx answers seen anywhere are
listed under the table, because a fast figure with errors is not a result.

Usage: summarize.py RAW.jsonl [--seconds N] [--setup-seconds N]   (prints markdown on stdout)
"""

import argparse
import json
import re
import statistics
import sys
from collections import defaultdict


def load(path):
    by_label = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            by_label[obj.get("label", "")].append(obj)
    return by_label


class Figures:
    def __init__(self, by_label):
        self.by_label = by_label

    def median(self, label, key):
        values = [o[key] for o in self.by_label.get(label, []) if isinstance(o.get(key), (int, float))]
        return statistics.median(values) if values else None

    def cpu_us_per_op(self, label, rate_key="rps"):
        """Median over runs of server CPU time per operation in microseconds: a cost figure that
        other tenants on a shared core disturb far less than a rate."""
        values = [o["server_cpu"] / o[rate_key] * 1e6 for o in self.by_label.get(label, [])
                  if isinstance(o.get("server_cpu"), (int, float)) and o.get(rate_key)]
        return statistics.median(values) if values else None

    def reps(self, label):
        return len(self.by_label.get(label, []))


def fmt(value, digits=0, unit=""):
    if value is None:
        return "n/a"
    if digits == 0:
        return f"{value:,.0f}{unit}"
    return f"{value:,.{digits}f}{unit}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}x"


def met(ok):
    if ok is None:
        return "n/a"
    return "yes" if ok else "**no**"


def all_of(*conds):
    if any(c is None for c in conds):
        return None
    return all(conds)


def le(value, limit):
    return None if value is None else value <= limit


def ge(value, limit):
    return None if value is None else value >= limit


def growth(values):
    """Each size's cost per unit over the smallest size's: 1.00 everywhere is a straight line,
    a rising figure is a curve that bends."""
    base = next((v for v in values if v), None)
    return [None if v is None or not base else v / base for v in values]


def sweep_tables(f):
    """The four curves of bench/sweeps.sh, each with a cost per unit and how it grows."""
    out = []

    sizes = (1, 10, 100, 1000, 10000)
    out.append("**S2: W2 read against the size of the service** (64 connections; nginx serves the "
               "same bytes)")
    out.append("")
    out.append("| instances | bytes/response | Beacon req/s | nginx req/s | Beacon/nginx | Beacon p50 / p99 ms "
               "| server CPU µs/request | server CPU ns per instance | growth |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    per_inst = []
    cells = []
    for n in sizes:
        b, x = f"S2.i{n}.beacon", f"S2.i{n}.nginx"
        cpu = f.cpu_us_per_op(b)
        per_inst.append(None if cpu is None else cpu * 1000 / n)
        cells.append((n, f.median(b, "bytes_per_response"), f.median(b, "rps"), f.median(x, "rps"),
                      f.median(b, "p50_ms"), f.median(b, "p99_ms"), cpu))
    for (n, size, b_rate, x_rate, p50, p99, cpu), ns, g in zip(cells, per_inst, growth(per_inst)):
        out.append(f"| {fmt(n)} | {fmt(size)} | {fmt(b_rate)} | {fmt(x_rate)} | {ratio(b_rate, x_rate)} "
                   f"| {fmt(p50, 2)} / {fmt(p99, 2)} | {fmt(cpu, 1)} | {fmt(ns, 1)} | {fmt(g, 2)} |")
    out.append("")

    out.append("**S3: W3 against the number of watchers** (one change to a 10-instance service)")
    out.append("")
    out.append("| watchers | all notified after the ack, max (p50 / p99) ms | ms per 1,000 watchers "
               "| RSS per parked watcher KB | parked in s | growth of ms per 1,000 |")
    out.append("|---|---|---|---|---|---|")
    counts = sorted({int(m.group(1)) for m in map(re.compile(r"S3\.w(\d+)\.(beacon|skipped)").fullmatch,
                                                   f.by_label) if m})
    per_k = []
    for w in counts:
        m = f.median(f"S3.w{w}.beacon", "all_notified_ms")
        per_k.append(None if m is None else m / (w / 1000))
    for w, pk, g in zip(counts, per_k, growth(per_k)):
        b = f"S3.w{w}.beacon"
        if not f.reps(b) and f.reps(f"S3.w{w}.skipped"):
            skip = f.by_label[f"S3.w{w}.skipped"][0]
            out.append(f"| {fmt(w)} | not run: the descriptor limit here is {skip.get('nofile')} "
                       f"and only a privileged user can raise it; {fmt(skip.get('instead'))} "
                       f"instead | | | | |")
            continue
        out.append(f"| {fmt(w)} | {fmt(f.median(b, 'all_notified_ms'), 1)} "
                   f"({fmt(f.median(b, 'p50_ms'), 1)} / {fmt(f.median(b, 'p99_ms'), 1)}) | {fmt(pk, 1)} "
                   f"| {fmt(f.median(b, 'kb_per_watcher'), 2)} | {fmt(f.median(b, 'park_s'), 1)} "
                   f"| {fmt(g, 2)} |")
    out.append("")

    out.append("**S4: W4 against the size of the catalog** (100 instances per service, a "
               "`-data-dir`; restart = exec to the last service's first complete answer)")
    out.append("")
    out.append("| instances | loaded at /s | RSS at rest MB (after restart) | bytes per instance "
               "| clean stop s: after the load (after a restart) | restart s | µs per instance "
               "| growth of µs per instance |")
    out.append("|---|---|---|---|---|---|---|---|")
    catalog = (10000, 100000, 1000000)
    readies = [f.median(f"S4.n{n}.restart", "ready_ms") for n in catalog]
    per_us = [None if ready is None else ready * 1000 / n for n, ready in zip(catalog, readies)]
    for n, ready, us, g in zip(catalog, readies, per_us, growth(per_us)):
        rest = f.median(f"S4.n{n}.rss_at_rest", "rss_kb")
        after = f.median(f"S4.n{n}.rss_after_restart", "rss_kb")
        out.append(f"| {fmt(n)} | {fmt(f.median(f'S4.n{n}.load', 'rps'))} "
                   f"| {fmt(None if rest is None else rest / 1024, 1)} "
                   f"({fmt(None if after is None else after / 1024, 1)}) "
                   f"| {fmt(None if rest is None else rest * 1024 / n)} "
                   f"| {fmt(f.median(f'S4.n{n}.stop_after_load', 'stop_s'), 2)} "
                   f"({fmt(f.median(f'S4.n{n}.stop', 'stop_s'), 2)}) "
                   f"| {fmt(None if ready is None else ready / 1000, 3)} | {fmt(us, 2)} | {fmt(g, 2)} |")
    out.append("")

    out.append("**S1: W1 at concurrency 64 against the catalog already stored** (10,000 new "
               "instances, durable)")
    out.append("")
    out.append("| stored | registrations/s | p50 / p99 ms | server CPU µs/registration | growth |")
    out.append("|---|---|---|---|---|")
    stored = (0, 10000, 100000, 1000000)
    cpus = [f.cpu_us_per_op(f"S1.n{n}.beacon") for n in stored]
    for n, cpu, g in zip(stored, cpus, growth(cpus)):
        b = f"S1.n{n}.beacon"
        out.append(f"| {fmt(n)} | {fmt(f.median(b, 'rps'))} | {fmt(f.median(b, 'p50_ms'), 2)} / "
                   f"{fmt(f.median(b, 'p99_ms'), 2)} | {fmt(cpu, 1)} | {fmt(g, 2)} |")
    out.append("")
    out.append("growth = the cost per unit at that size over the smallest size's; a value well above "
               "1 is a curve that bends.")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("--seconds", type=int, default=None, help="time the workloads took")
    parser.add_argument("--setup-seconds", type=int, default=None, help="install + build time")
    parser.add_argument("--sweep", action="store_true", help="the sweep tables (run.sh --sweep)")
    args = parser.parse_args()
    by_label = load(args.raw)
    f = Figures(by_label)
    meta = (by_label.get("meta") or [{}])[0]

    rows = []

    def row(workload, figure, beacon, reference, rat, target, ok):
        met_cell = met(ok) if target and target != "report" else ""
        rows.append(f"| {workload} | {figure} | {beacon} | {reference} | {rat} | {target} | {met_cell} |")

    # W1
    for c, rate_target, lat_key, lat_limit in (
        (1, 3300, "p50_ms", 0.3),
        (16, None, None, None),
        (64, 22000, "p99_ms", 10.0),
    ):
        b, e = f"W1.c{c}.beacon", f"W1.c{c}.etcd"
        b_rate, e_rate = f.median(b, "rps"), f.median(e, "rps")
        b_p50, b_p99 = f.median(b, "p50_ms"), f.median(b, "p99_ms")
        e_p50, e_p99 = f.median(e, "p50_ms"), f.median(e, "p99_ms")
        acked = f.median(b, "acked")
        if rate_target is None:
            target, ok = "report", None
        else:
            lat_value = b_p50 if lat_key == "p50_ms" else b_p99
            lat_name = "p50" if lat_key == "p50_ms" else "p99"
            target = f"≥ {rate_target:,}/s, {lat_name} ≤ {lat_limit} ms"
            ok = all_of(ge(b_rate, rate_target), le(lat_value, lat_limit))
        row(f"W1 register, c={c}", f"registrations/s ({fmt(acked)} acked)", fmt(b_rate),
            f"etcd {fmt(e_rate)}", ratio(b_rate, e_rate), target, ok)
        row(f"W1 register, c={c}", "p50 / p99 ms", f"{fmt(b_p50, 2)} / {fmt(b_p99, 2)}",
            f"etcd {fmt(e_p50, 2)} / {fmt(e_p99, 2)}", "", "", None)
        b_cpu, e_cpu = f.cpu_us_per_op(b), f.cpu_us_per_op(e)
        row(f"W1 register, c={c}", "server CPU per registration, µs", fmt(b_cpu), f"etcd {fmt(e_cpu)}",
            ratio(b_cpu, e_cpu), "", None)
        if c == 1 and f.reps("W1.c1.disk"):
            # The disk's own append + fdatasync, one at a time, just before and after each c=1
            # run: the ceiling for a durable write per request at that moment.
            d_rate, d_p50 = f.median("W1.c1.disk", "rps"), f.median("W1.c1.disk", "p50_ms")
            d_min = min(o["rps"] for o in by_label["W1.c1.disk"])
            d_max = max(o["rps"] for o in by_label["W1.c1.disk"])
            row("W1 register, c=1", "the disk alone: fdatasync'd appends/s (p50 ms) [range]",
                f"{fmt(b_rate)} ({fmt(b_p50, 2)})",
                f"disk {fmt(d_rate)} ({fmt(d_p50, 2)}) [{fmt(d_min)}–{fmt(d_max)}]",
                ratio(b_rate, d_rate), "", None)

    # W2
    for n in (100, 5):
        b, x = f"W2.i{n}.beacon", f"W2.i{n}.nginx"
        b_rate, x_rate = f.median(b, "rps"), f.median(x, "rps")
        ok = None if b_rate is None or x_rate is None else b_rate >= 0.8 * x_rate
        row(f"W2 read {n} instances, 64 conns", "requests/s", fmt(b_rate), f"nginx {fmt(x_rate)}",
            ratio(b_rate, x_rate), "≥ 0.80x nginx", ok)
        row(f"W2 read {n} instances, 64 conns", "p50 / p99 ms; bytes/response",
            f"{fmt(f.median(b, 'p50_ms'), 2)} / {fmt(f.median(b, 'p99_ms'), 2)}; "
            f"{fmt(f.median(b, 'bytes_per_response'))}",
            f"nginx {fmt(f.median(x, 'p50_ms'), 2)} / {fmt(f.median(x, 'p99_ms'), 2)}; "
            f"{fmt(f.median(x, 'bytes_per_response'))}", "", "", None)
        b_cpu, x_cpu = f.cpu_us_per_op(b), f.cpu_us_per_op(x)
        row(f"W2 read {n} instances, 64 conns", "server CPU per request, µs", fmt(b_cpu, 1),
            f"nginx {fmt(x_cpu, 1)}", ratio(b_cpu, x_cpu), "", None)

    # W3
    for w in (1000, 10000):
        b, e = f"W3.w{w}.beacon", f"W3.w{w}.etcd"
        b_all, e_all = f.median(b, "all_notified_ms"), f.median(e, "all_notified_ms")
        b_send, e_send = f.median(b, "from_send_max_ms"), f.median(e, "from_send_max_ms")
        row(f"W3 {w:,} watchers", "all notified, ms after the ack: max (p50 / p99); [max after send]",
            f"{fmt(b_all, 1)} ({fmt(f.median(b, 'p50_ms'), 1)} / {fmt(f.median(b, 'p99_ms'), 1)}) "
            f"[{fmt(b_send, 1)}]",
            f"etcd {fmt(e_all, 1)} ({fmt(f.median(e, 'p50_ms'), 1)} / {fmt(f.median(e, 'p99_ms'), 1)}) "
            f"[{fmt(e_send, 1)}]",
            ratio(b_all, e_all), "≤ 300 ms", le(b_all, 300))
        b_kb, e_kb = f.median(b, "kb_per_watcher"), f.median(e, "kb_per_watcher")
        row(f"W3 {w:,} watchers", "RSS per parked watcher (KB)", fmt(b_kb, 1), f"etcd {fmt(e_kb, 1)}",
            ratio(b_kb, e_kb), "≤ 8 KB", le(b_kb, 8))
        b_ack, b_idle = f.median(b, "ack_with_watchers_ms"), f.median(b, "ack_idle_p50_ms")
        b_idle_max = f.median(b, "ack_idle_max_ms")
        e_ack, e_idle = f.median(e, "ack_with_watchers_ms"), f.median(e, "ack_idle_p50_ms")
        not_delayed = None
        if b_ack is not None and b_idle is not None and b_idle_max is not None:
            not_delayed = b_ack <= max(2 * b_idle_max, b_idle + 1.0)
        row(f"W3 {w:,} watchers", "write ack with watchers (idle p50) ms",
            f"{fmt(b_ack, 2)} ({fmt(b_idle, 2)})", f"etcd {fmt(e_ack, 2)} ({fmt(e_idle, 2)})", "",
            "ack not delayed by fan-out", not_delayed)
        missing = sum(f.median(b, k) or 0 for k in ("missing", "failed", "stale", "early"))
        if missing:
            row(f"W3 {w:,} watchers", "watchers missing/failed/stale/early (median)",
                fmt(missing), "", "", "0", False)

    # W4
    rest = f.median("W4.rss_at_rest", "rss_kb")
    restarted = f.median("W4.rss_after_restart", "rss_kb")
    ready = f.median("W4.restart", "ready_ms")
    load_rate = f.median("W4.load", "rps")
    rest_mb = None if rest is None else rest / 1024
    row("W4 100,000 instances", f"RSS at rest, MB (after restart; loaded at {fmt(load_rate)}/s)",
        f"{fmt(rest_mb, 1)} ({fmt(None if restarted is None else restarted / 1024, 1)})", "", "",
        "≤ 150 MB", le(rest_mb, 150))
    row("W4 100,000 instances", "restart to first correct read, s",
        fmt(None if ready is None else ready / 1000, 3), "", "", "≤ 1.0 s",
        le(None if ready is None else ready / 1000, 1.0))

    # W7
    reads, writes = f.median("W7.beacon", "reads_per_s"), f.median("W7.beacon", "writes_per_s")
    w2 = f.median("W2.i100.beacon", "rps")
    row("W7 mixed 95/5, 1,000 watchers", "reads/s + writes/s",
        f"{fmt(reads)} + {fmt(writes)}", f"W2 Beacon reads {fmt(w2)}", ratio(reads, w2),
        "reads ≥ 0.60x W2", None if reads is None or w2 is None else reads >= 0.6 * w2)
    row("W7 mixed 95/5, 1,000 watchers", "read p50 / p99 ms; write p50 / p99 ms",
        f"{fmt(f.median('W7.beacon', 'read_p50_ms'), 2)} / {fmt(f.median('W7.beacon', 'read_p99_ms'), 2)}; "
        f"{fmt(f.median('W7.beacon', 'write_p50_ms'), 2)} / {fmt(f.median('W7.beacon', 'write_p99_ms'), 2)}",
        "", "", "report", None)
    wb, rb = f.median("W7.beacon", "watch_bytes_per_s"), f.median("W7.beacon", "read_bytes_per_s")
    row("W7 mixed 95/5, 1,000 watchers", "MB/s sent: to readers + to woken watchers",
        f"{fmt(None if rb is None else rb / 1e6, 0)} + {fmt(None if wb is None else wb / 1e6, 0)}",
        "", "", "report", None)
    row("W7 mixed 95/5, 1,000 watchers", "watcher delay from write send p50 / p99 ms",
        f"{fmt(f.median('W7.beacon', 'watch_delay_p50_ms'), 1)} / "
        f"{fmt(f.median('W7.beacon', 'watch_delay_p99_ms'), 1)}", "", "", "report", None)

    out = []
    reps = meta.get("reps", "?")
    out.append(f"Run {meta.get('date', '?')}: {'--quick, ' if meta.get('quick') else ''}"
               f"medians of {reps} repetition(s); {meta.get('nproc', '?')} cores "
               f"({meta.get('cpu', '?')}), kernel {meta.get('kernel', '?')}, load average at start "
               f"{meta.get('loadavg', '?')}" + (f"; workloads took {args.seconds} s" if args.seconds is not None else "")
               + (f" after {args.setup_seconds} s of install and build" if args.setup_seconds is not None else "")
               + (f"; commit {meta['commit'][:12]}" if meta.get("commit") else "") + ".")
    out.append("Servers pinned to core 0, beacon_loadgen to core 1 (taskset).")
    out.append("")
    if args.sweep:
        out.extend(sweep_tables(f))
    else:
        out.append("| Workload | Figure | Beacon | Reference | Beacon/ref | Target | Met |")
        out.append("|---|---|---|---|---|---|---|")
        out.extend(rows)
        out.append("")
    out.append("Server CPU per operation = the server process's CPU time (/proc/<pid>/stat) over the "
               "window divided by the operations completed; it excludes softirq time, where loopback "
               "receive work is charged, and is less disturbed by other tenants than a rate.")
    if not args.sweep:
        out.append("\"ack not delayed\": the registration that wakes the watchers is acknowledged "
                   "within max(2x the slowest of 20 idle writes, idle p50 + 1 ms); each idle write, "
                   "like the change, comes after 300 ms without requests and is timed on a loop of "
                   "its own.")

    problems = []
    for label, objs in sorted(by_label.items()):
        for o in objs:
            bad = {k: o[k] for k in ("non_2xx", "errors", "missing", "failed", "stale")
                   if isinstance(o.get(k), int) and o[k] > 0}
            if o.get("error"):
                bad["error"] = o["error"]
            if o.get("ok") is False:
                bad["ok"] = False
            if bad:
                detail = ", ".join(f"{k}={v}" for k, v in bad.items())
                if o.get("first_error"):
                    detail += f", first: {o['first_error'][:120]}"
                problems.append(f"- {label}: {detail}")
    if problems:
        out.append("")
        out.append("Errors seen during the run:")
        out.extend(problems)

    busy = []
    for label, objs in sorted(by_label.items()):
        for o in objs:
            if "cpu1_busy" in o and "client_cpu" in o:
                busy.append((label, o.get("server_cpu"), o.get("cpu0_busy"), o["client_cpu"], o["cpu1_busy"]))
    if busy:
        out.append("")
        out.append("<details><summary>CPU during each measured window (fraction of one core)</summary>")
        out.append("")
        out.append("| label | server process | core 0 busy | loadgen process | core 1 busy |")
        out.append("|---|---|---|---|---|")
        for label, s, c0, c, c1 in busy:
            out.append(f"| {label} | {fmt(s, 2)} | {fmt(c0, 2)} | {fmt(c, 2)} | {fmt(c1, 2)} |")
        out.append("")
        out.append("</details>")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
