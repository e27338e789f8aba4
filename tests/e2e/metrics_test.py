#!/usr/bin/env python3
"""Metrics end to end: the Prometheus output passes `promtool check metrics`, and counters move by
exactly the operations the test performs: HTTP requests and registrations, DNS queries asked with
`dig` (by protocol and rcode), and HTTP checks run against a small http.server started by the test
(by type and result).

Usage: python3 metrics_test.py <path to the beacon binary>
"""
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent, scaled  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
TIMEOUT_S = scaled(10)  # longer under the sanitizer presets (BEACON_TEST_TIMEOUT_SCALE)


def request(port, method, path, body=None, headers=None):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=body.encode() if body is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def eventually(pred, timeout_s=TIMEOUT_S, step_s=0.05):
    """Calls pred until it returns true or timeout_s has passed; returns its last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return pred()
        time.sleep(step_s)


def promtool_check(test, text):
    promtool = shutil.which('promtool')
    if promtool is None:
        test.fail('promtool not installed (Debian package prometheus; scripts/install-deps.sh)')
    result = subprocess.run([promtool, 'check', 'metrics'], input=text.encode(),
                            capture_output=True, timeout=30, check=False)
    test.assertEqual(result.returncode, 0, result.stdout.decode() + result.stderr.decode())


def dig_status(port, name, *args):
    """The rcode dig reports for one query (one try, so the server sees exactly one query)."""
    cmd = ['dig', '@127.0.0.1', '-p', str(port), '+time=%d' % TIMEOUT_S, '+tries=1', name]
    cmd += list(args)
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=TIMEOUT_S * 2, check=False)
    match = re.search(r'->>HEADER<<-.*status: (\w+)', proc.stdout.decode('utf-8', 'replace'))
    return match.group(1) if match else 'no answer: ' + proc.stdout.decode() + proc.stderr.decode()


class CheckTarget:
    """An HTTP server for checks: /ok answers 200 (passing), /busy 429 (warning), /fail 500
    (critical). Counts the requests per path."""

    CODES = {'/ok': 200, '/busy': 429, '/fail': 500}

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {path: 0 for path in self.CODES}
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # pylint: disable=invalid-name
                code = target.CODES.get(self.path, 404)
                with target.lock:
                    if self.path in target.counts:
                        target.counts[self.path] += 1
                body = b'status %d' % code
                self.send_response(code)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self):
        with self.lock:
            return dict(self.counts)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=TIMEOUT_S)


def prometheus_samples(text):
    """{'name{labels}': value} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith('#'):
            key, value = line.rsplit(' ', 1)
            samples[key] = float(value)
    return samples


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1', '-node', 'metrics'])
        self.port = self.agent.port

    def tearDown(self):
        self.agent.stop()

    def scrape(self):
        status, headers, body = request(self.port, 'GET', '/v1/agent/metrics?format=prometheus')
        self.assertEqual(status, 200)
        self.assertTrue(headers['Content-Type'].startswith('text/plain; version=0.0.4'))
        return body

    def test_promtool_accepts_the_output(self):
        request(self.port, 'PUT', '/v1/agent/service/register', '{"Name": "web"}')
        request(self.port, 'GET', '/v1/health/service/web')
        promtool_check(self, self.scrape())

    def test_counters_move_by_exactly_the_operations(self):
        before = prometheus_samples(self.scrape())
        for i in range(3):
            status, _, _ = request(self.port, 'PUT', '/v1/agent/service/register',
                                   json.dumps({'Name': 'api', 'ID': 'api-%d' % i,
                                               'Check': {'TTL': '30s'}}))
            self.assertEqual(status, 200)
        request(self.port, 'PUT', '/v1/agent/service/deregister/api-0')
        self.assertEqual(request(self.port, 'GET', '/v1/health/service/api')[0], 200)
        self.assertEqual(request(self.port, 'GET', '/v1/health/service/api')[0], 200)
        self.assertEqual(request(self.port, 'GET', '/v1/nope')[0], 404)
        after = prometheus_samples(self.scrape())

        def delta(key):
            return after.get(key, 0) - before.get(key, 0)

        self.assertEqual(delta('consul_catalog_register_total'), 3)
        self.assertEqual(delta('consul_catalog_deregister_total'), 1)
        self.assertEqual(delta('consul_http_requests_total{route="/v1/agent/service/register",'
                               'method="PUT",code="200"}'), 3)
        self.assertEqual(delta('consul_http_requests_total{route="/v1/health/service/",'
                               'method="GET",code="200"}'), 2)
        self.assertEqual(delta('consul_http_requests_total{route="unknown",method="GET",'
                               'code="404"}'), 1)
        self.assertEqual(after['consul_catalog_service_instances'], 2)
        self.assertEqual(after['consul_catalog_checks{status="critical"}'], 2)
        self.assertGreater(after['consul_runtime_rss_bytes'], 0)
        self.assertGreaterEqual(delta('consul_store_batch_size_count'), 1)

    def test_json_shape_and_sketch_alias(self):
        status, headers, body = request(self.port, 'GET', '/metrics')
        self.assertEqual(status, 200)
        self.assertEqual(headers['Content-Type'], 'application/json')
        doc = json.loads(body)
        self.assertEqual(sorted(doc), ['Counters', 'Gauges', 'Points', 'Samples', 'Timestamp'])
        self.assertTrue(doc['Timestamp'].endswith('+0000 UTC'))
        names = {g['Name'] for g in doc['Gauges']}
        self.assertIn('consul.catalog.nodes', names)


class DnsAndCheckMetricsTest(unittest.TestCase):
    """consul_dns_queries_total{protocol, rcode}, consul_health_checks_run_total{type, result}."""

    def setUp(self):
        self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '0',
                                    '-node', 'metrics'])
        self.port = self.agent.port
        self.target = None

    def tearDown(self):
        self.agent.stop()
        if self.target is not None:
            self.target.stop()

    def scrape(self):
        status, _, body = request(self.port, 'GET', '/v1/agent/metrics?format=prometheus')
        self.assertEqual(status, 200)
        return body

    def test_dns_queries_counted_by_protocol_and_rcode(self):
        if shutil.which('dig') is None:
            self.fail('dig not installed (Debian dnsutils; scripts/install-deps.sh)')
        # The DNS line follows the HTTP one; the harness reads it in the background.
        self.assertTrue(eventually(lambda: self.agent.dns_port is not None), self.agent.tail())
        dns = self.agent.dns_port
        self.assertEqual(request(self.port, 'PUT', '/v1/agent/service/register',
                                 '{"Name": "web", "Port": 80}')[0], 200)
        # The DNS loops receive the new catalog by a post: wait until they answer for it.
        self.assertTrue(eventually(lambda: dig_status(dns, 'web.service.consul') == 'NOERROR'))

        def queries(samples, protocol, rcode):
            return samples.get('consul_dns_queries_total{protocol="%s",rcode="%s"}'
                               % (protocol, rcode))

        before = prometheus_samples(self.scrape())
        for rcode in ('NOERROR', 'NXDOMAIN', 'REFUSED', 'FORMERR', 'SERVFAIL', 'NOTIMP'):
            for protocol in ('udp', 'tcp'):
                self.assertIsNotNone(queries(before, protocol, rcode), (protocol, rcode))
        asked = [('web.service.consul', [], 'NOERROR'),
                 ('web.service.consul', ['SRV'], 'NOERROR'),
                 ('nosuch.service.consul', [], 'NXDOMAIN'),
                 ('example.com', [], 'REFUSED'),
                 ('example.org', [], 'REFUSED'),
                 ('example.net', [], 'REFUSED'),
                 ('web.service.consul', ['+tcp'], 'NOERROR'),
                 ('nobody.node.consul', ['+tcp'], 'NXDOMAIN')]
        for name, args, want in asked:
            self.assertEqual(dig_status(dns, name, *args), want, (name, args))
        # Each query is counted before its answer is sent: no wait needed.
        after = prometheus_samples(self.scrape())
        want = {('udp', 'NOERROR'): 2, ('udp', 'NXDOMAIN'): 1, ('udp', 'REFUSED'): 3,
                ('tcp', 'NOERROR'): 1, ('tcp', 'NXDOMAIN'): 1}
        for rcode in ('NOERROR', 'NXDOMAIN', 'REFUSED', 'FORMERR', 'SERVFAIL', 'NOTIMP'):
            for protocol in ('udp', 'tcp'):
                self.assertEqual(queries(after, protocol, rcode) - queries(before, protocol, rcode),
                                 want.get((protocol, rcode), 0), (protocol, rcode))
        promtool_check(self, self.scrape())

    def test_checks_run_counted_by_type_and_result(self):
        self.target = CheckTarget()

        def runs(samples, kind, result):
            return samples.get('consul_health_checks_run_total{type="%s",result="%s"}'
                               % (kind, result), 0)

        before = prometheus_samples(self.scrape())
        paths = {'ok': '/ok', 'busy': '/busy', 'fail': '/fail'}
        for check_id, path in paths.items():
            body = {'ID': check_id, 'Name': check_id, 'Interval': '1s',
                    'HTTP': 'http://127.0.0.1:%d%s' % (self.target.port, path)}
            self.assertEqual(request(self.port, 'PUT', '/v1/agent/check/register',
                                     json.dumps(body))[0], 200)
        # Let every check run at least twice (the first run comes within one interval).
        self.assertTrue(eventually(lambda: min(self.target.snapshot().values()) >= 2,
                                   timeout_s=TIMEOUT_S * 3), self.target.snapshot())
        for check_id in paths:
            self.assertEqual(request(self.port, 'PUT',
                                     '/v1/agent/check/deregister/' + check_id)[0], 200)

        expected = {'/ok': ('http', 'passing'), '/busy': ('http', 'warning'),
                    '/fail': ('http', 'critical')}

        def deltas():
            after = prometheus_samples(self.scrape())
            return {key: runs(after, *key) - runs(before, *key)
                    for key in [(k, r) for k in ('http', 'tcp', 'grpc')
                                for r in ('passing', 'warning', 'critical')]}

        def counted_as_served():
            served = self.target.snapshot()
            got = deltas()
            return all(got[expected[path]] == served[path] for path in served) and \
                sum(got.values()) == sum(served.values())

        # An attempt already started when its check was removed still runs and is counted: wait
        # for it, then make sure nothing moves any more (checks removed: no new attempts).
        self.assertTrue(eventually(counted_as_served), (deltas(), self.target.snapshot()))
        time.sleep(2.5)  # more than two intervals
        served = self.target.snapshot()
        got = deltas()
        for path, key in expected.items():
            self.assertEqual(got[key], served[path], (path, got, served))
        self.assertEqual(sum(got.values()), sum(served.values()), (got, served))
        promtool_check(self, self.scrape())


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: metrics_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
