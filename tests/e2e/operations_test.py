#!/usr/bin/env python3
"""Operating the agent end to end: access-log lines (text and JSON), CORS allow-list and
preflight, and graceful shutdown with parked watchers and in-flight writes.

Usage: python3 operations_test.py <path to the beacon binary>
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
TIMEOUT_S = 20


def request(port, method, path, body=None, headers=None):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=body.encode() if body is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def eventually(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class OperationsTest(unittest.TestCase):
    agent = None

    def tearDown(self):
        if self.agent:
            self.agent.stop()

    def test_json_log_lines_parse_and_carry_request_fields(self):
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1', '-log-json'])
        port = self.agent.port
        request(port, 'PUT', '/v1/agent/service/register', '{"Name": "web"}')
        request(port, 'GET', '/v1/health/service/web?passing')

        def access_lines():
            lines = [l for l in self.agent.output if l.startswith('{')]
            docs = [json.loads(l) for l in lines]  # every JSON line parses
            return [d for d in docs if d.get('@module') == 'http.access']
        self.assertTrue(eventually(lambda: len(access_lines()) >= 2), self.agent.tail())
        get = [d for d in access_lines() if d['method'] == 'GET'][0]
        self.assertEqual(get['path'], '/v1/health/service/web?passing')
        self.assertEqual(get['status'], 200)
        self.assertGreater(get['bytes'], 0)
        self.assertGreaterEqual(get['duration_ms'], 0)
        self.assertTrue(get['peer'].startswith('127.0.0.1:'))
        for field in ('@timestamp', '@level'):
            self.assertIn(field, get)
        # Non-access lines are JSON too (stdout's "listening" lines are not logs).
        logs = [l for l in self.agent.output if not l.startswith('beacon: ')]
        self.assertTrue(logs)
        for line in logs:
            json.loads(line)

    def test_text_access_log_and_switch_off(self):
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1'])
        request(self.agent.port, 'GET', '/v1/catalog/services')
        self.assertTrue(eventually(lambda: any(
            'http.access: GET /v1/catalog/services 200' in l for l in self.agent.output)))
        self.agent.stop()
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1',
                                    '-access-log', 'false'])
        request(self.agent.port, 'GET', '/v1/catalog/services')
        time.sleep(0.2)  # give a wrongly written line the chance to appear
        self.assertFalse(any('http.access' in l for l in self.agent.output))

    def test_cors_allow_list(self):
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1',
                                    '-allowed-origin', 'https://ui.example'])
        port = self.agent.port
        _, headers, _ = request(port, 'GET', '/v1/catalog/services',
                                headers={'Origin': 'https://ui.example'})
        self.assertEqual(headers['Access-Control-Allow-Origin'], 'https://ui.example')
        self.assertIn('X-Consul-Index', headers['Access-Control-Expose-Headers'])
        _, headers, _ = request(port, 'GET', '/v1/catalog/services',
                                headers={'Origin': 'https://evil.example'})
        self.assertIsNone(headers.get('Access-Control-Allow-Origin'))
        status, headers, _ = request(port, 'OPTIONS', '/v1/agent/service/register', headers={
            'Origin': 'https://ui.example', 'Access-Control-Request-Method': 'PUT',
            'Access-Control-Request-Headers': 'content-type,x-consul-token'})
        self.assertEqual(status, 204)
        self.assertEqual(headers['Access-Control-Allow-Origin'], 'https://ui.example')
        self.assertIn('PUT', headers['Access-Control-Allow-Methods'])
        self.assertEqual(headers['Access-Control-Allow-Headers'], 'content-type,x-consul-token')
        status, headers, _ = request(port, 'OPTIONS', '/v1/agent/service/register', headers={
            'Origin': 'https://evil.example', 'Access-Control-Request-Method': 'PUT'})
        self.assertEqual(status, 403)
        self.assertIsNone(headers.get('Access-Control-Allow-Origin'))

    def test_no_cors_by_default_and_wildcard_is_opt_in(self):
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1'])
        _, headers, _ = request(self.agent.port, 'GET', '/v1/catalog/services',
                                headers={'Origin': 'https://ui.example'})
        self.assertIsNone(headers.get('Access-Control-Allow-Origin'))
        self.agent.stop()
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1',
                                    '-allowed-origin', '*'])
        _, headers, _ = request(self.agent.port, 'GET', '/v1/catalog/services',
                                headers={'Origin': 'https://any.example'})
        self.assertEqual(headers['Access-Control-Allow-Origin'], '*')

    def test_graceful_shutdown_answers_watchers_and_keeps_acknowledged_writes(self):
        data_dir = tempfile.mkdtemp()
        try:
            self.agent = Agent(BINARY, ['-data-dir', data_dir, '-http-port', '0',
                                        '-dns-port', '-1'])
            port = self.agent.port
            _, headers, _ = request(port, 'GET', '/v1/health/service/web')
            index = headers['X-Consul-Index']
            answers = []

            def watch():
                answers.append(request(port, 'GET',
                                       '/v1/health/service/web?index=%s&wait=60s' % index)[0])
            watchers = [threading.Thread(target=watch) for _ in range(20)]
            for w in watchers:
                w.start()
            acked = []
            stop_writing = threading.Event()

            def write():
                i = 0
                while not stop_writing.is_set() and i < 2000:
                    try:
                        status, _, _ = request(port, 'PUT', '/v1/agent/service/register',
                                               json.dumps({'Name': 'other', 'ID': 'o-%d' % i}))
                    except OSError:
                        return  # the agent stopped accepting
                    if status == 200:
                        acked.append('o-%d' % i)
                    i += 1
            writer = threading.Thread(target=write)
            writer.start()
            self.assertTrue(eventually(lambda: len(acked) >= 5))
            started = time.monotonic()
            self.agent.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.agent.proc.wait(timeout=30), 0, self.agent.tail())
            self.assertLess(time.monotonic() - started, 15)
            stop_writing.set()
            writer.join(timeout=30)
            for w in watchers:
                w.join(timeout=30)
            self.assertEqual(answers, [200] * 20)  # parked watchers were answered, not dropped
            self.agent.stop()
            self.agent = Agent(BINARY, ['-data-dir', data_dir, '-http-port', '0',
                                        '-dns-port', '-1'])
            _, _, body = request(self.agent.port, 'GET', '/v1/agent/services')
            missing = [i for i in acked if i not in json.loads(body)]
            self.assertEqual(missing, [])
        finally:
            if self.agent:
                self.agent.stop()
                self.agent = None
            shutil.rmtree(data_dir, ignore_errors=True)


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: operations_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
