#!/usr/bin/env python3
"""W5 driver (bench/health/run.sh starts the processes; this registers, measures and reports).

Registers --checks services, each with one HTTP check at a 1 s interval against nginx, plus the
service w5-fail whose check hits /fail. Waits (bounded) until every check passes, then measures
checks/s (nginx stub_status), agent CPU% (/proc/<pid>/stat) and RSS over --window seconds, then
--detections times: parks a blocking health/service/w5-fail?passing query, creates the down flag
and times how long until the query returns without the instance. Standard library only.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import statistics
import threading
import time
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")


def request(port, method, path, body=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict(resp.getheaders()), data
    finally:
        conn.close()


def cpu_split(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS  # utime, stime


def cpu_seconds(pid):
    return sum(cpu_split(pid))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def nginx_requests(port):
    _, _, body = request(port, "GET", "/nginx_status")
    # "Active connections: N \nserver accepts handled requests\n A H R \n..."
    return int(body.decode().splitlines()[2].split()[2])


def register_all(args):
    def register(i):
        body = json.dumps({
            "Name": f"w5-{i % 100}", "ID": f"w5-{i}",
            "Check": {"HTTP": f"http://127.0.0.1:{args.target_port}/h/{i}",
                      "Interval": "1s", "Timeout": "1s"}})
        conn = http.client.HTTPConnection("127.0.0.1", args.agent_port, timeout=60)
        status = None
        for _ in range(3):
            conn.request("PUT", "/v1/agent/service/register", body=body)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            if status == 200:
                break
        conn.close()
        return status

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(register, range(args.checks)))
    bad = sum(1 for s in statuses if s != 200)
    body = json.dumps({"Name": "w5-fail", "ID": "w5-fail",
                       "Check": {"HTTP": f"http://127.0.0.1:{args.target_port}/fail",
                                 "Interval": "1s", "Timeout": "1s"}})
    status, _, _ = request(args.agent_port, "PUT", "/v1/agent/service/register", body)
    return time.monotonic() - start, bad + (status != 200)


def count_state(args, state):
    _, _, body = request(args.agent_port, "GET", f"/v1/health/state/{state}")
    return sum(1 for c in json.loads(body) if c["CheckID"] != "serfHealth")


def wait_until(pred, deadline_s, step=0.5):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def detect_once(args):
    def fail_passing():
        return len(json.loads(request(
            args.agent_port, "GET", "/v1/health/service/w5-fail?passing")[2])) == 1

    if not wait_until(fail_passing, 30, 0.2):
        return float("nan")  # an overloaded agent: no clean start for this round
    status, headers, body = request(args.agent_port, "GET", "/v1/health/service/w5-fail?passing")
    index = headers.get("X-Consul-Index")
    result = {}

    def watch():
        # Re-parks until an answer without the instance arrives (another change of the service's
        # index would wake the query early), bounded by 60 s in all.
        idx = index
        end = time.monotonic() + 60
        while time.monotonic() < end:
            s, h, b = request(args.agent_port, "GET",
                              f"/v1/health/service/w5-fail?passing&index={idx}&wait=60s",
                              timeout=90)
            if s == 200 and len(json.loads(b)) == 0:
                result["t"] = time.monotonic()
                result["n"] = 0
                return
            idx = h.get("X-Consul-Index", idx)

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(0.3)  # let the query park (it cannot return earlier: nothing changes)
    t0 = time.monotonic()
    open(args.down_file, "w").close()
    t.join(90)
    delay = result.get("t", float("nan")) - t0
    os.unlink(args.down_file)
    ok = result.get("n") == 0
    # Let it pass again before the next round (bounded).
    wait_until(lambda: len(json.loads(request(
        args.agent_port, "GET", "/v1/health/service/w5-fail?passing")[2])) == 1, 30, 0.2)
    return delay if ok else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent-port", type=int, required=True)
    p.add_argument("--agent-pid", type=int, required=True)
    p.add_argument("--target-port", type=int, required=True)
    p.add_argument("--down-file", required=True)
    p.add_argument("--checks", type=int, default=10000)
    p.add_argument("--window", type=float, default=20)
    p.add_argument("--detections", type=int, default=5)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    reg_s, reg_failures = register_all(args)
    total = args.checks + 1
    all_passing = wait_until(lambda: count_state(args, "passing") == total, 120)
    time.sleep(2)  # past the start-up burst of first results

    u0, s0 = cpu_split(args.agent_pid)
    r0, c0, t0 = nginx_requests(args.target_port), cpu_seconds(args.agent_pid), time.monotonic()
    time.sleep(args.window)
    r1, c1, t1 = nginx_requests(args.target_port), cpu_seconds(args.agent_pid), time.monotonic()
    u1, s1 = cpu_split(args.agent_pid)
    elapsed = t1 - t0
    checks_per_s = (r1 - r0 - 1) / elapsed
    cpu_pct = 100.0 * (c1 - c0) / elapsed
    not_passing = total - count_state(args, "passing")
    if not_passing:
        import collections, re
        _, _, body = request(args.agent_port, "GET", "/v1/health/state/critical")
        why = collections.Counter(re.sub(r"[0-9]+", "N", c["Output"])[:90]
                                  for c in json.loads(body))
        for text, n in why.most_common(4):
            print(f"  {n} critical: {text}", flush=True)
    print(f"window: {(r1 - r0 - 1) / elapsed:.0f} checks/s, agent CPU {cpu_pct:.1f}%, "
          f"{not_passing} checks not passing", flush=True)

    delays = [detect_once(args) for _ in range(args.detections)]
    good = [d for d in delays if d == d]
    res = {
        "workload": "W5", "checks": total, "interval_s": 1, "window_s": round(elapsed, 2),
        "register_s": round(reg_s, 2), "register_failures": reg_failures,
        "all_passing_before_window": all_passing, "not_passing_after_window": not_passing,
        "checks_per_s": round(checks_per_s, 1), "agent_cpu_pct_of_one_core": round(cpu_pct, 1),
        "agent_user_pct": round(100.0 * (u1 - u0) / elapsed, 1),
        "agent_sys_pct": round(100.0 * (s1 - s0) / elapsed, 1),
        "agent_rss_mib": round(rss_mib(args.agent_pid), 1),
        "detect_s": [round(d, 3) for d in delays],
        "detect_median_s": round(statistics.median(good), 3) if good else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    with open(os.path.join(args.out, "raw.jsonl"), "a") as f:
        f.write(json.dumps(res) + "\n")
    print(json.dumps(res))
    print()
    print(f"| checks | checks/s | agent CPU (% of one core) | agent RSS | detection delay "
          f"(median, min-max) |")
    print("|---|---|---|---|---|")
    rng = f"{min(good):.2f}-{max(good):.2f} s" if good else "n/a"
    med = f"{statistics.median(good):.2f} s" if good else "n/a"
    print(f"| {total} | {checks_per_s:.0f} | {cpu_pct:.1f}% | {res['agent_rss_mib']} MiB | "
          f"{med} ({rng}) |")


if __name__ == "__main__":
    main()
