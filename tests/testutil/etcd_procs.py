"""A real etcd cluster of child processes on loopback, for the Python cluster tests.

Import with:  sys.path.insert(0, <repo>/tests/testutil); from etcd_procs import EtcdCluster
Every process is started here and stopped by its own PID; data lives in a temp directory.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ETCD = os.environ.get('BEACON_ETCD', '/usr/bin/etcd')


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtcdCluster:
    """`size` etcd members forming one cluster (fast heartbeats, so failover takes ~1 s)."""

    def __init__(self, size=3, max_txn_ops=10000):
        self.dir = tempfile.mkdtemp(prefix='beacon-etcd-')
        self.size = size
        self.max_txn_ops = max_txn_ops
        self.client_ports = [free_port() for _ in range(size)]
        self.peer_ports = [free_port() for _ in range(size)]
        self.procs = [None] * size
        self.token = 'beacon-test-%d' % os.getpid()
        for i in range(size):
            self.start(i, new=True)
        self.wait_healthy()

    def name(self, i):
        return 'm%d' % i

    def endpoints(self, members=None):
        members = range(self.size) if members is None else members
        return ['http://127.0.0.1:%d' % self.client_ports[i] for i in members]

    def start(self, i, new=False):
        initial = ','.join('%s=http://127.0.0.1:%d' % (self.name(j), self.peer_ports[j])
                           for j in range(self.size))
        args = [ETCD, '--name', self.name(i),
                '--data-dir', os.path.join(self.dir, self.name(i)),
                '--listen-client-urls', 'http://127.0.0.1:%d' % self.client_ports[i],
                '--advertise-client-urls', 'http://127.0.0.1:%d' % self.client_ports[i],
                '--listen-peer-urls', 'http://127.0.0.1:%d' % self.peer_ports[i],
                '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % self.peer_ports[i],
                '--initial-cluster', initial,
                '--initial-cluster-state', 'new',
                '--initial-cluster-token', self.token,
                '--heartbeat-interval', '50', '--election-timeout', '500',
                '--max-txn-ops', str(self.max_txn_ops)]
        log = open(os.path.join(self.dir, '%s.log' % self.name(i)), 'ab')
        self.procs[i] = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        log.close()

    def kill9(self, i):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)

    def call(self, i, path, body, timeout=2):
        req = urllib.request.Request('http://127.0.0.1:%d%s' % (self.client_ports[i], path),
                                     data=json.dumps(body).encode(), method='POST')
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read().decode())

    def status(self, i):
        return self.call(i, '/v3/maintenance/status', {})

    def leader_index(self):
        """The member index of the current raft leader (bounded wait)."""
        deadline = time.time() + 15
        while time.time() < deadline:
            for i in range(self.size):
                if self.procs[i] is None or self.procs[i].poll() is not None:
                    continue
                try:
                    st = self.status(i)
                except Exception:
                    continue
                if st.get('leader') and st.get('leader') == st.get('header', {}).get('member_id'):
                    return i
            time.sleep(0.1)
        raise AssertionError('no etcd leader within 15 s')

    def wait_healthy(self, members=None):
        members = range(self.size) if members is None else members
        deadline = time.time() + 30
        for i in members:
            while True:
                try:
                    self.call(i, '/v3/kv/range', {'key': b64('health-probe')})
                    break
                except Exception:
                    if time.time() > deadline:
                        raise AssertionError('etcd member %d not serving within 30 s\n%s'
                                             % (i, self.log_tail(i)))
                    time.sleep(0.1)

    def log_tail(self, i, n=30):
        try:
            with open(os.path.join(self.dir, '%s.log' % self.name(i)), 'rb') as f:
                return b'\n'.join(f.read().splitlines()[-n:]).decode('utf-8', 'replace')
        except OSError:
            return ''

    def close(self):
        for i in range(self.size):
            self.kill9(i)
        shutil.rmtree(self.dir, ignore_errors=True)
