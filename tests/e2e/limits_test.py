#!/usr/bin/env python3
"""HTTP limits and timeouts end to end: a slow-loris request gets 408 and cannot hold the server,
idle keep-alive connections are closed, connections over the limit get 503, a connection is
closed after its request budget, oversized heads get 431 and bodies 413.

Usage: python3 limits_test.py <path to the beacon binary>
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None


def status_line(data):
    return data.split(b'\r\n', 1)[0].decode()


class LimitsTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1',
                                    '-http-read-timeout', '1s', '-http-idle-timeout', '2s',
                                    '-http-max-conns', '8', '-http-max-requests-per-conn', '3',
                                    '-http-max-body', '1024', '-http-max-header', '2048'])
        self.sockets = []

    def tearDown(self):
        for s in self.sockets:
            s.close()
        self.agent.stop()

    def connect(self):
        s = socket.create_connection(('127.0.0.1', self.agent.port), timeout=15)
        self.sockets.append(s)
        return s

    def get_ok(self):
        s = socket.create_connection(('127.0.0.1', self.agent.port), timeout=15)
        try:
            s.sendall(b'GET /v1/status/leader HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
            return status_line(s.recv(4096))
        finally:
            s.close()

    def test_slow_loris_gets_408_and_others_are_served_meanwhile(self):
        s = self.connect()
        s.sendall(b'GET /v1/agent/self HTTP/1.1\r\nHost: t\r\n')  # never finished
        self.assertEqual(self.get_ok(), 'HTTP/1.1 200 OK')
        started = time.monotonic()
        self.assertEqual(status_line(s.recv(4096)), 'HTTP/1.1 408 Request Timeout')
        self.assertLess(time.monotonic() - started, 5)

    def test_idle_connection_is_closed(self):
        s = self.connect()
        started = time.monotonic()
        self.assertEqual(s.recv(4096), b'')  # closed by the server, no response
        self.assertGreaterEqual(time.monotonic() - started, 1.5)

    def test_connections_over_the_limit_get_503(self):
        for _ in range(8):
            self.connect()
        time.sleep(0.3)  # let the agent accept them all
        extra = self.connect()
        self.assertEqual(status_line(extra.recv(4096)), 'HTTP/1.1 503 Service Unavailable')

    def test_connection_closed_after_its_request_budget(self):
        s = self.connect()
        replies = b''
        for _ in range(3):
            s.sendall(b'GET /v1/status/leader HTTP/1.1\r\nHost: t\r\n\r\n')
            time.sleep(0.1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            replies += chunk
        self.assertEqual(replies.count(b'HTTP/1.1 200 OK'), 3)
        self.assertEqual(replies.count(b'Connection: close'), 1)

    def test_oversized_head_and_body(self):
        s = self.connect()
        s.sendall(b'GET /v1/agent/self HTTP/1.1\r\nHost: t\r\nX-Big: ' + b'a' * 4096 + b'\r\n\r\n')
        self.assertEqual(status_line(s.recv(4096)), 'HTTP/1.1 431 Request Header Fields Too Large')
        s = self.connect()
        s.sendall(b'PUT /v1/agent/service/register HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n'
                  b'\r\n' + b'{' * 5000)
        self.assertEqual(status_line(s.recv(4096)), 'HTTP/1.1 413 Payload Too Large')
        self.assertEqual(self.get_ok(), 'HTTP/1.1 200 OK')


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: limits_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
