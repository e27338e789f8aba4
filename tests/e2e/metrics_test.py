#!/usr/bin/env python3
"""Metrics end to end: the Prometheus output passes `promtool check metrics`, and counters move by
exactly the operations the test performs.

Usage: python3 metrics_test.py <path to the beacon binary>
"""
import json
import os
import shutil
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
TIMEOUT_S = 10


def request(port, method, path, body=None, headers=None):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=body.encode() if body is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


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
        promtool = shutil.which('promtool')
        if promtool is None:
            self.fail('promtool not installed (Debian package prometheus; scripts/install-deps.sh)')
        result = subprocess.run([promtool, 'check', 'metrics'], input=self.scrape().encode(),
                                capture_output=True, timeout=30, check=False)
        self.assertEqual(result.returncode, 0, result.stdout.decode() + result.stderr.decode())

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


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: metrics_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
