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

STARTUP_TIMEOUT_S = 30
STOP_TIMEOUT_S = 5
HTTP_TIMEOUT_S = 30  # per request; longer than any blocking wait used below
LISTEN_RE = re.compile(r'^beacon: http listening on (\S+):(\d+)\s*$')
DNS_RE = re.compile(r'^beacon: dns listening on (\S+):(\d+)\s*$')


class Agent:
    """A `beacon agent` child process: started, its output drained, stopped or killed by PID.

    `startup_timeout_s` bounds the wait for the "http listening" line (longer for a restart that
    recovers a data directory)."""

    def __init__(self, binary, args, startup_timeout_s=STARTUP_TIMEOUT_S):
        self.output = collections.deque(maxlen=300)
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
        return self.proc.returncode

    def _close_output(self):
        # The pipe reaches EOF once the agent is gone (unless a child of it still holds it open).
        self._drainer.join(timeout=STOP_TIMEOUT_S)
        if not self._drainer.is_alive():
            self.proc.stdout.close()

    def tail(self, n=60):
        lines = list(self.output)[-n:]
        return '--- agent pid %d output (last %d lines) ---\n%s\n--- end of agent output ---' % (
            self.proc.pid, len(lines), '\n'.join(lines))
