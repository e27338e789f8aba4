#!/usr/bin/env python3
"""Cluster-mode figures (issue #9): W1 and W2 of ../shared/BENCH.md for one Beacon agent on its
embedded SQLite store, on a 1-member etcd, and on a 3-member etcd, in one run.

  python3 bench/cluster.py [--reps 3] [--beacon build/release/apps/beacon/beacon]
                           [--loadgen build/release/bench/beacon_loadgen]

Servers (Beacon and every etcd member) are pinned to core 0, the load generator to core 1, as in
bench/run.sh. Each figure is the median of --reps runs; modes alternate inside a repetition so
machine noise hits them alike. Every process is started here and stopped by its PID; every wait
is bounded; data lives in a temporary directory removed at the end. Prints a markdown table.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, log):
        with open(log, 'ab') as f:
            p = subprocess.Popen(['taskset', '-c', '0'] + args, stdin=subprocess.DEVNULL,
                                 stdout=f, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)


def wait_http(url, timeout_s=30):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError('not serving within %d s: %s' % (timeout_s, url))


def start_etcd(procs, work, size):
    os.makedirs(work, exist_ok=True)
    clients = [free_port() for _ in range(size)]
    peers = [free_port() for _ in range(size)]
    initial = ','.join('m%d=http://127.0.0.1:%d' % (i, peers[i]) for i in range(size))
    members = []
    for i in range(size):
        members.append(procs.start([
            'etcd', '--name', 'm%d' % i, '--data-dir', os.path.join(work, 'etcd-m%d' % i),
            '--listen-client-urls', 'http://127.0.0.1:%d' % clients[i],
            '--advertise-client-urls', 'http://127.0.0.1:%d' % clients[i],
            '--listen-peer-urls', 'http://127.0.0.1:%d' % peers[i],
            '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % peers[i],
            '--initial-cluster', initial, '--initial-cluster-state', 'new',
            '--initial-cluster-token', 'bench-%d' % os.getpid(), '--max-txn-ops', '10000',
            '--logger', 'zap', '--log-level', 'error'], os.path.join(work, 'etcd-m%d.log' % i)))
    for c in clients:
        wait_http('http://127.0.0.1:%d/health' % c)
    return members, ['http://127.0.0.1:%d' % c for c in clients]


def start_beacon(procs, beacon, work, extra):
    log = os.path.join(work, 'beacon-%d.log' % time.monotonic_ns())
    p = procs.start([beacon, 'agent', '-http-port', '0', '-dns-port', '-1', '-node', 'bench',
                     '-log-level', 'warn'] + extra, log)
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(log) as f:
            for line in f:
                if line.startswith('beacon: http listening on 127.0.0.1:'):
                    return p, int(line.rsplit(':', 1)[1])
        if p.poll() is not None:
            break
        time.sleep(0.05)
    with open(log) as f:
        sys.stderr.write(f.read())
    raise RuntimeError('beacon did not start')


def loadgen(binary, args):
    out = subprocess.run(['taskset', '-c', '1', binary] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=600, check=True)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def run_mode(mode, args, work, results):
    procs = Procs()
    try:
        extra = ['-dev']
        if mode != 'single':
            _, endpoints = start_etcd(procs, work + '/' + mode + str(time.monotonic_ns()),
                                      1 if mode == 'etcd1' else 3)
            extra = ['-store', 'etcd', '-etcd-endpoints', ','.join(endpoints)]
        for c, cap in ((1, args.seconds // 2), (64, args.seconds)):
            p, port = start_beacon(procs, args.beacon, work, extra)
            r = loadgen(args.loadgen, ['register', '--port', str(port), '--server-pid', str(p.pid),
                                       '--conns', str(c), '--max-seconds', str(cap),
                                       '--label', 'W1.c%d.%s' % (c, mode)])
            results.setdefault(('W1 c%d registrations/s' % c, mode), []).append(r['rps'])
            results.setdefault(('W1 c%d p50 / p99 ms' % c, mode), []).append(
                (r['p50_ms'], r['p99_ms']))
            procs.stop(p)
            if mode != 'single':  # a fresh etcd keyspace per run: stop everything and restart
                procs.stop_all()
                _, endpoints = start_etcd(procs, work + '/' + mode + str(time.monotonic_ns()),
                                          1 if mode == 'etcd1' else 3)
                extra = ['-store', 'etcd', '-etcd-endpoints', ','.join(endpoints)]
        p, port = start_beacon(procs, args.beacon, work, extra)
        loadgen(args.loadgen, ['register', '--port', str(port), '--conns', '64', '--services', '1',
                               '--instances', '100', '--label', 'W2.load'])
        r = loadgen(args.loadgen, ['read', '--port', str(port), '--server-pid', str(p.pid),
                                   '--path', '/v1/health/service/svc-0?passing', '--conns', '64',
                                   '--duration', str(args.seconds), '--warmup', '1',
                                   '--label', 'W2.i100.%s' % mode])
        results.setdefault(('W2 read 100 instances requests/s', mode), []).append(r['rps'])
    finally:
        procs.stop_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--seconds', type=int, default=10, help='W1 c64 cap and W2 window')
    ap.add_argument('--beacon', default=os.path.join(ROOT, 'build/release/apps/beacon/beacon'))
    ap.add_argument('--loadgen', default=os.path.join(ROOT, 'build/release/bench/beacon_loadgen'))
    args = ap.parse_args()
    modes = ['single', 'etcd1', 'etcd3']
    results = {}
    work = tempfile.mkdtemp(prefix='beacon-cluster-bench-')
    try:
        for rep in range(args.reps):
            for mode in modes:
                print('rep %d: %s' % (rep + 1, mode), file=sys.stderr, flush=True)
                run_mode(mode, args, work, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('| figure | single node (SQLite) | cluster, 1 etcd member | cluster, 3 etcd members '
          '| 3 members / single |')
    print('|---|---|---|---|---|')
    figures = []
    for (fig, _mode) in results:
        if fig not in figures:
            figures.append(fig)
    for fig in figures:
        cells = []
        vals = {}
        for mode in modes:
            v = results.get((fig, mode), [])
            if v and isinstance(v[0], tuple):
                cells.append('%.2f / %.2f' % (statistics.median(x[0] for x in v),
                                              statistics.median(x[1] for x in v)))
            elif v:
                vals[mode] = statistics.median(v)
                cells.append('%.0f' % vals[mode])
            else:
                cells.append('—')
        ratio = ('%.2f' % (vals['etcd3'] / vals['single'])) if vals.get('single') and 'etcd3' in vals else ''
        print('| %s | %s | %s |' % (fig, ' | '.join(cells), ratio))
    print('\nruns: %d per figure; load average %s' % (args.reps, open('/proc/loadavg').read().split()[:3]))


if __name__ == '__main__':
    main()
