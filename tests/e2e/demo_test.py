#!/usr/bin/env python3
"""`beacon demo` end to end: it exits 0, its narrative shows which instances answered, the
failing instance leaving discovery and the rotation, the killed one being ejected and coming
back, the deregistration and the metrics; and nothing it started is left running -- also when
it is interrupted with Ctrl-C, and when it uses an agent started separately (-http-addr).

Usage: python3 demo_test.py <path to the beacon binary>
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
DEMO_TIMEOUT_S = 120  # the demo bounds each step at 20 s; it normally takes well under 20 s
REQUEST_RE = re.compile(r'^\s+request\s+(\S+) -> (\S+) \((127\.0\.0\.1:\d+)\)(:| answered:) (.*)$')
PID_RE = re.compile(r'^\s+(\S+-service-\d)\s+pid (\d+)\s')


def processes_with_marker(marker):
    """PIDs of live processes whose environment holds `marker` (the demo's children inherit it)."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/environ' % entry, 'rb') as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def pid_alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ')[1][0] != 'Z'
    except OSError:
        return False


def sections(lines):
    """Splits the narrative into {step number: [lines]} at lines like '6. Health failure ...'."""
    out, current = {}, None
    for line in lines:
        m = re.match(r'^(\d+)\. ', line)
        if m:
            current = int(m.group(1))
            out[current] = []
        if current is not None:
            out[current].append(line)
    return out


def answered(section_lines):
    """[(instance, answered?)] for every request line of a section."""
    result = []
    for line in section_lines:
        m = REQUEST_RE.match(line)
        if m:
            result.append((m.group(2), m.group(4) != ':'))
    return result


class DemoTest(unittest.TestCase):

    def run_demo(self, *args):
        marker = 'BEACON_DEMO_TEST_%s' % uuid.uuid4().hex
        env = dict(os.environ, BEACON_DEMO_TEST_MARKER=marker)
        started = time.monotonic()
        proc = subprocess.run([BINARY, 'demo'] + list(args), capture_output=True, env=env,
                              timeout=DEMO_TIMEOUT_S, check=False)
        elapsed = time.monotonic() - started
        out, err = proc.stdout.decode(), proc.stderr.decode()
        return proc.returncode, out, err, marker, elapsed

    def assert_nothing_left(self, marker, out):
        pids = [int(m.group(2)) for m in map(PID_RE.match, out.splitlines()) if m]
        self.assertGreaterEqual(len(pids), 4, out)
        self.assertEqual(processes_with_marker(marker), [], 'demo processes left running')
        for pid in pids:
            self.assertFalse(pid_alive(pid), 'backend pid %d still running' % pid)

    def check_story(self, out):
        lines = out.splitlines()
        s = sections(lines)
        self.assertEqual(sorted(s), list(range(1, 12)), out)

        # 2-3: four backends, registered with HTTP checks of their /health.
        self.assertEqual(len([l for l in s[2] if PID_RE.match(l)]), 4, out)
        self.assertEqual(len([l for l in s[3] if 'check http://127.0.0.1:' in l and
                              l.rstrip().endswith('/health')]), 4, out)
        self.assertTrue(any('all 4 instances passing' in l for l in s[3]), out)

        # 4: discovery through the cache, tags and filter.
        self.assertIn('   user-service: 3 healthy instances', '\n'.join(s[4]))
        self.assertIn('   order-service: 1 healthy instance', '\n'.join(s[4]))
        self.assertIn('   tag v2 only: user-service-3', s[4])

        # 5: round robin over all three, each answering for itself.
        calls = answered(s[5])
        self.assertEqual({i for i, ok in calls}, {'user-service-1', 'user-service-2',
                                                   'user-service-3'})
        self.assertTrue(all(ok for _, ok in calls), out)
        for line in s[5]:
            m = REQUEST_RE.match(line)
            if m:
                self.assertIn('hello from %s ' % m.group(2), m.group(5))
        weighted = [l for l in s[5] if 'weighted by Weights.Passing' in l]
        self.assertEqual(len(weighted), 1, out)
        self.assertIn('user-service-1 x6, user-service-2 x6, user-service-3 x2', weighted[0])

        # 6: the failing instance leaves discovery and the rotation.
        self.assertTrue(any('user-service-2 left discovery' in l for l in s[6]), out)
        self.assertTrue(any('503 Service Unavailable' in l for l in s[6]), out)
        calls = answered(s[6])
        self.assertGreaterEqual(len(calls), 3)
        self.assertNotIn('user-service-2', [i for i, _ in calls], 'failing instance still served')

        # 7: the killed instance fails a call (ejected) or its check notices first; then it is gone.
        self.assertTrue(any('user-service-1 left discovery' in l for l in s[7]), out)
        after_gone = answered(s[7][next(i for i, l in enumerate(s[7])
                                        if 'user-service-1 left discovery' in l):])
        self.assertEqual({i for i, _ in after_gone}, {'user-service-3'}, out)
        failed = [i for i, ok in answered(s[7]) if not ok]
        self.assertTrue(failed == ['user-service-1'] or
                        any('check was faster' in l for l in s[7]), out)

        # 8: both come back into the rotation.
        self.assertTrue(any('both back in discovery' in l for l in s[8]), out)
        self.assertEqual({i for i, _ in answered(s[8])},
                         {'user-service-1', 'user-service-2', 'user-service-3'})

        # 9: deregistration.
        self.assertIn('   remaining user-service instances: user-service-1, user-service-2', s[9])

        # 10: client, balancer and agent metrics.
        metrics = '\n'.join(s[10])
        self.assertRegex(metrics, r'client cache: hits=\d+ misses=\d+ watch_round_trips=\d+ '
                                  r'errors=\d+ updates=\d+ watches=4')
        self.assertRegex(metrics, r'balancer round_robin: picks=\d+')
        self.assertRegex(metrics, r'balancer weighted: picks=14 ')
        self.assertRegex(metrics, r'agent: services=\d+ service_instances=\d+')

        # 11: cleanup.
        self.assertTrue(any('none of the demo\'s processes is left running' in l for l in s[11]))
        self.assertRegex(lines[-1], r'^=== Demo finished in [\d.]+s: every step went as narrated')

    def test_demo_with_its_own_agent(self):
        code, out, err, marker, elapsed = self.run_demo()
        self.assertEqual(code, 0, 'stdout:\n%s\nstderr:\n%s' % (out, err))
        self.check_story(out)
        self.assertIn('started an in-process Beacon agent', out)
        self.assert_nothing_left(marker, out)
        self.assertLess(elapsed, 90)

    def test_demo_against_a_running_agent_leaves_it_clean(self):
        agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1', '-log-level', 'warn'])
        try:
            code, out, err, marker, _ = self.run_demo('-http-addr=127.0.0.1:%d' % agent.port)
            self.assertEqual(code, 0, 'stdout:\n%s\nstderr:\n%s' % (out, err))
            self.check_story(out)
            self.assertIn('using the agent at 127.0.0.1:%d' % agent.port, out)
            self.assert_nothing_left(marker, out)
            with urllib.request.urlopen('http://127.0.0.1:%d/v1/agent/services' % agent.port,
                                        timeout=10) as resp:
                self.assertEqual(json.loads(resp.read()), {}, 'the demo deregisters what it added')
        finally:
            agent.stop()

    def test_ctrl_c_cleans_up(self):
        marker = 'BEACON_DEMO_TEST_%s' % uuid.uuid4().hex
        env = dict(os.environ, BEACON_DEMO_TEST_MARKER=marker)
        proc = subprocess.Popen([BINARY, 'demo'], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        lines = []
        ready = threading.Event()

        def read():
            for raw in proc.stdout:
                lines.append(raw.decode().rstrip('\n'))
                if len([l for l in lines if PID_RE.match(l)]) == 4:
                    ready.set()
            ready.set()
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            self.assertTrue(ready.wait(30), lines)
            self.assertTrue(processes_with_marker(marker), 'backends are running')
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        reader.join(timeout=10)
        err = proc.stderr.read().decode()
        proc.stdout.close()
        proc.stderr.close()
        self.assertEqual(code, 1, err)
        self.assertIn('interrupted', err)
        self.assert_nothing_left(marker, '\n'.join(lines))


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: demo_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
