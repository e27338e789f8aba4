"""Shared helpers for the Python end-to-end and fault tests: a `beacon agent` child process.

Import with:  sys.path.insert(0, <repo>/tests/testutil); from beacon_agent import Agent
"""
import collections
import os
import queue
import re
import signal
import subprocess
import threading


def timeout_scale():
    """BEACON_TEST_TIMEOUT_SCALE (set by the asan and tsan test presets): how much slower than a
    plain build the binary under test runs. 1 when unset or not a number in [1, 100]."""
    try:
        scale = float(os.environ.get('BEACON_TEST_TIMEOUT_SCALE', '1'))
    except ValueError:
        return 1.0
    return scale if 1.0 <= scale <= 100.0 else 1.0


def scaled(seconds):
    """A time bound for the binary under test, stretched for sanitizer builds (never shortened)."""
    return seconds * timeout_scale()


STARTUP_TIMEOUT_S = scaled(30)
STOP_TIMEOUT_S = scaled(5)
HTTP_TIMEOUT_S = scaled(30)  # per request; longer than any blocking wait used below
LISTEN_RE = re.compile(r'^beacon: http listening on (\S+):(\d+)\s*$')
DNS_RE = re.compile(r'^beacon: dns listening on (\S+):(\d+)\s*$')
# The first line of a report from ASan, LSan, UBSan or TSan (sanitizer builds of the agent).
SANITIZER_RE = re.compile(r'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|'
                          r'ThreadSanitizer: reported|runtime error: ')
SANITIZER_REPORT_LINES = 80


class Agent:
    """A `beacon agent` child process: started, its output drained, stopped or killed by PID.

    `startup_timeout_s` bounds the wait for the "http listening" line (longer for a restart that
    recovers a data directory). Under a sanitizer build, stop() and kill9() fail the test with the
    report if the agent printed one (leaks are only reported at a clean exit)."""

    def __init__(self, binary, args, startup_timeout_s=STARTUP_TIMEOUT_S):
        self.output = collections.deque(maxlen=300)
        self.sanitizer_report = []  # the first lines of a sanitizer report, if any
        self._sanitizer_raised = False
        self.dns_port = None  # set once the agent reports its DNS listener
        self._port_q = queue.Queue()
        self.proc = subprocess.Popen([binary, 'agent'] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        try:
            port = self._port_q.get(timeout=startup_timeout_s)
        except queue.Empty:
            self.stop()
            raise AssertionError('agent printed no "beacon: http listening on" line within %d s\n%s'
                                 % (startup_timeout_s, self.tail()))
        if port is None:
            rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
            raise AssertionError('agent exited with code %s before listening\n%s' % (rc, self.tail()))
        self.port = port

    def _drain(self):
        # Keeps reading after the port line so the agent never blocks on a full stdout pipe.
        found = False
        for raw in self.proc.stdout:
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            self.output.append(line)
            if self.sanitizer_report or SANITIZER_RE.search(line):
                if len(self.sanitizer_report) < SANITIZER_REPORT_LINES:
                    self.sanitizer_report.append(line)
            dns = DNS_RE.match(line)
            if dns:
                self.dns_port = int(dns.group(2))
            match = LISTEN_RE.match(line)
            if match and not found:
                found = True
                self._port_q.put(int(match.group(2)))
        if not found:
            self._port_q.put(None)

    def kill9(self):
        """SIGKILL (a crash: nothing is flushed), then reap it."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._close_output()
        self._check_sanitizer_report()

    def stop(self):
        """SIGTERM, then SIGKILL if it is still running after STOP_TIMEOUT_S. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.output.append('[test: agent ignored SIGTERM for %d s; sent SIGKILL]'
                                   % STOP_TIMEOUT_S)
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._close_output()
        self._check_sanitizer_report()
        return self.proc.returncode

    def _check_sanitizer_report(self):
        # Once per agent: stop() is often called again from tearDown.
        if self.sanitizer_report and not self._sanitizer_raised:
            self._sanitizer_raised = True
            raise AssertionError('agent pid %d (exit code %s) printed a sanitizer report:\n%s'
                                 % (self.proc.pid, self.proc.returncode,
                                    '\n'.join(self.sanitizer_report)))

    def _close_output(self):
        # The pipe reaches EOF once the agent is gone (unless a child of it still holds it open).
        self._drainer.join(timeout=STOP_TIMEOUT_S)
        if not self._drainer.is_alive():
            self.proc.stdout.close()

    def tail(self, n=60):
        lines = list(self.output)[-n:]
        return '--- agent pid %d output (last %d lines) ---\n%s\n--- end of agent output ---' % (
            self.proc.pid, len(lines), '\n'.join(lines))
