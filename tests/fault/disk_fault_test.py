#!/usr/bin/env python3
"""Disk faults: a full disk gives clear 5xx errors, loses nothing already acknowledged, and
recovers when space returns; a read-only data directory stops start-up with a clear message and
loses nothing; a corrupt database file stops start-up with a clear message instead of serving a
partial catalog.

The data directory is a small tmpfs this test mounts (root only; skipped otherwise), so "disk
full" and "read-only" are real kernel errors (ENOSPC, EROFS), not simulations.
Usage: python3 disk_fault_test.py <path to the beacon binary>
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
TIMEOUT_S = 30
MAX_WRITES = 5000  # bound on the fill loop


def request(port, method, path, body=None):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=body.encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def register(port, i, meta_bytes=2000):
    # Meta values are capped at 512 characters: spread the padding over several keys.
    meta = {'pad%d' % k: 'x' * min(500, meta_bytes - 500 * k) for k in range((meta_bytes + 499) // 500)}
    return request(port, 'PUT', '/v1/agent/service/register', json.dumps(
        {'Name': 'fill', 'ID': 'fill-%s' % i, 'Meta': meta}))


def mount_tmpfs(path, size):
    return subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size, 'tmpfs', path],
                          capture_output=True, check=False).returncode == 0


def remount(path, options):
    subprocess.run(['mount', '-o', 'remount,' + options, path], check=True, capture_output=True)


class DiskFaultTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='beacon-disk-')
        if os.geteuid() != 0 or not mount_tmpfs(self.dir, '4m'):
            os.rmdir(self.dir)
            self.skipTest('needs root to mount a tmpfs')
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.stop()
        subprocess.run(['umount', self.dir], check=False, capture_output=True)
        os.rmdir(self.dir)

    def start(self):
        self.agent = Agent(BINARY, ['-data-dir', self.dir, '-http-port', '0', '-dns-port', '-1',
                                    '-node', 'disk', '-access-log', 'false'])
        return self.agent.port

    def assert_all_present(self, port, acked):
        status, body = request(port, 'GET', '/v1/agent/services')
        self.assertEqual(status, 200)
        services = json.loads(body)
        self.assertEqual([i for i in acked if i not in services], [])

    def test_full_disk_then_space_returns(self):
        port = self.start()
        acked, failure = [], None
        for i in range(MAX_WRITES):
            status, body = register(port, i)
            if status == 200:
                acked.append('fill-%s' % i)
            else:
                failure = (status, body)
                break
        self.assertIsNotNone(failure, 'the 4 MB disk never filled')
        self.assertGreaterEqual(failure[0], 500)
        self.assertIn('disk full', failure[1])
        # Reads still work and nothing acknowledged is gone.
        self.assertEqual(request(port, 'GET', '/v1/status/leader')[0], 200)
        self.assert_all_present(port, acked)
        # Space returns: writes work again without a restart.
        remount(self.dir, 'size=64m')
        status, body = register(port, 'after')
        self.assertEqual(status, 200, body)
        acked.append('fill-after')
        # And everything acknowledged survives a restart.
        self.agent.stop()
        port = self.start()
        self.assert_all_present(port, acked)

    def test_read_only_directory_refuses_writes_and_recovers(self):
        # Linux refuses to remount a filesystem read-only while a process has files on it open
        # for writing, so the directory turns read-only while the agent is down: the agent must
        # then refuse to start with a clear message (it could not acknowledge any write) and
        # come back with every acknowledged write once the directory is writable again.
        port = self.start()
        acked = []
        for i in range(20):
            self.assertEqual(register(port, i, 100)[0], 200)
            acked.append('fill-%s' % i)
        self.agent.stop()
        self.agent = None
        remount(self.dir, 'ro')
        proc = subprocess.run([BINARY, 'agent', '-data-dir', self.dir, '-http-port', '0',
                               '-dns-port', '-1'], capture_output=True, timeout=60, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn('listening', proc.stdout.decode())
        self.assertIn('read-only', proc.stderr.decode())
        remount(self.dir, 'rw')
        port = self.start()
        self.assert_all_present(port, acked)
        self.assertEqual(register(port, 'rw', 100)[0], 200)

    def test_corrupt_database_stops_startup(self):
        port = self.start()
        for i in range(200):
            self.assertEqual(register(port, i, 500)[0], 200)
        self.agent.stop()
        self.agent = None
        db = os.path.join(self.dir, 'beacon.db')
        size = os.path.getsize(db)
        self.assertGreater(size, 16384)
        with open(db, 'r+b') as f:  # trash pages in the middle of the file
            f.seek(size // 2)
            f.write(os.urandom(8192))
        for extra in ('-wal', '-shm'):
            if os.path.exists(db + extra):
                os.remove(db + extra)
        proc = subprocess.run([BINARY, 'agent', '-data-dir', self.dir, '-http-port', '0',
                               '-dns-port', '-1'], capture_output=True, timeout=60, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn('listening', proc.stdout.decode())
        err = proc.stderr.decode()
        self.assertTrue('not a valid Beacon database' in err or 'corrupt' in err or
                        'malformed' in err, err)


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: disk_fault_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
