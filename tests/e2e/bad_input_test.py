#!/usr/bin/env python3
"""The bad-input suite: malformed and hostile requests each get their documented 4xx with a
message, change nothing in the catalog, and leave the server serving.

Each case is (name, method, target, body, expected status, text the message must contain).
Usage: python3 bad_input_test.py <path to the beacon binary>
"""
import http.client
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
REG = '/v1/agent/service/register'
CHECK = '/v1/agent/check/register'


def svc(**fields):
    body = {'Name': 'bad'}
    body.update(fields)
    return json.dumps(body)


CASES = [
    # Broken JSON and bodies
    ('empty body', 'PUT', REG, '', 400, 'Request decode failed'),
    ('truncated object', 'PUT', REG, '{"Name": "x"', 400, 'Request decode failed'),
    ('trailing garbage', 'PUT', REG, '{"Name": "x"} xyz', 400, 'Request decode failed'),
    ('not an object', 'PUT', REG, '[1,2,3]', 400, 'Request decode failed'),
    ('bare string', 'PUT', REG, '"web"', 400, 'Request decode failed'),
    ('single quotes', 'PUT', REG, "{'Name': 'x'}", 400, 'Request decode failed'),
    ('comment', 'PUT', REG, '{/* c */ "Name": "x"}', 400, 'Request decode failed'),
    ('NaN literal', 'PUT', REG, '{"Name": "x", "Port": NaN}', 400, 'Request decode failed'),
    ('deeply nested arrays', 'PUT', REG, '[' * 100000, 400, 'Request decode failed'),
    ('deeply nested objects', 'PUT', REG, '{"a":' * 5000 + '1' + '}' * 5000, 400, ''),
    ('invalid UTF-8 in a string', 'PUT', REG, b'{"Name": "\xff\xfe"}', 400, 'Request decode failed'),
    ('lone surrogate escape', 'PUT', REG, '{"Name": "\\ud800"}', 400, 'Request decode failed'),
    ('NUL in body', 'PUT', REG, '{"Name": "x"}\x00', 400, 'Request decode failed'),
    # Wrong types and values
    ('Name is a number', 'PUT', REG, '{"Name": 5}', 400, 'Name'),
    ('Port is a string', 'PUT', REG, svc(Port='abc'), 400, 'Port'),
    ('Port is a float', 'PUT', REG, svc(Port=80.5), 400, 'Port'),
    ('Port is negative', 'PUT', REG, svc(Port=-1), 400, 'port'),
    ('Port out of range', 'PUT', REG, svc(Port=70000), 400, 'port'),
    ('Port huge', 'PUT', REG, '{"Name": "x", "Port": 99999999999999999999999}', 400, ''),
    ('Port 1e30', 'PUT', REG, '{"Name": "x", "Port": 1e30}', 400, ''),
    ('Tags not a list', 'PUT', REG, svc(Tags=5), 400, 'Tags'),
    ('Tags of numbers', 'PUT', REG, svc(Tags=[1, 2]), 400, 'Tags'),
    ('Meta not an object', 'PUT', REG, svc(Meta=['a']), 400, 'Meta'),
    ('Meta value not a string', 'PUT', REG, svc(Meta={'a': 1}), 400, 'Meta'),
    ('Meta key reserved', 'PUT', REG, svc(Meta={'consul-x': 'y'}), 400, 'Invalid Service Meta'),
    ('Meta key bad characters', 'PUT', REG, svc(Meta={'a b': 'y'}), 400, 'Invalid Service Meta'),
    ('Meta too many keys', 'PUT', REG, svc(Meta={'k%d' % i: 'v' for i in range(65)}), 400,
     'Invalid Service Meta'),
    ('Meta value too long', 'PUT', REG, svc(Meta={'k': 'v' * 513}), 400, 'Invalid Service Meta'),
    ('Weights.Passing zero', 'PUT', REG, svc(Weights={'Passing': 0, 'Warning': 1}), 400,
     'Invalid Weights'),
    ('Weights.Warning negative', 'PUT', REG, svc(Weights={'Passing': 1, 'Warning': -1}), 400,
     'Invalid Weights'),
    ('missing Name', 'PUT', REG, '{"Port": 80}', 400, 'Missing service name'),
    ('empty Name', 'PUT', REG, '{"Name": ""}', 400, 'Missing service name'),
    ('Address 0.0.0.0', 'PUT', REG, svc(Address='0.0.0.0'), 400, 'Invalid service address'),
    ('Address ::', 'PUT', REG, svc(Address='::'), 400, 'Invalid service address'),
    ('EnableTagOverride not bool', 'PUT', REG, svc(EnableTagOverride='yes'), 400, ''),
    ('TaggedAddresses wrong shape', 'PUT', REG, svc(TaggedAddresses={'lan': 5}), 400, ''),
    # Checks
    ('check TTL and HTTP', 'PUT', REG, svc(Check={'TTL': '10s', 'HTTP': 'http://x/'}), 400,
     'Invalid check'),
    ('check Interval and TTL', 'PUT', REG, svc(Check={'TTL': '10s', 'Interval': '5s'}), 400,
     'Invalid check'),
    ('check HTTP without Interval', 'PUT', REG, svc(Check={'HTTP': 'http://x/'}), 400,
     'Invalid check'),
    ('check with no type', 'PUT', REG, svc(Check={'Name': 'c', 'Notes': 'n'}), 400,
     'Invalid check'),
    ('check bad Status', 'PUT', REG, svc(Check={'TTL': '10s', 'Status': 'ok'}), 400,
     "Status for checks must 'passing', 'warning', 'critical'"),
    ('check bad TTL duration', 'PUT', REG, svc(Check={'TTL': 'ten seconds'}), 400, 'TTL'),
    ('check negative TTL', 'PUT', REG, svc(Check={'TTL': '-5s'}), 400, 'Invalid check'),
    ('check FailuresBeforeWarning > Critical', 'PUT', REG,
     svc(Check={'HTTP': 'http://x/', 'Interval': '5s', 'FailuresBeforeWarning': 5,
                'FailuresBeforeCritical': 2}), 400, 'Invalid check'),
    ('checks not a list', 'PUT', REG, svc(Checks={'TTL': '1s'}), 400, 'Checks'),
    ('agent check no name', 'PUT', CHECK, '{"TTL": "10s"}', 400, 'Missing check name'),
    ('agent check bad status', 'PUT', CHECK, '{"Name": "c", "TTL": "10s", "Status": "up"}', 400,
     'Bad check status'),
    ('agent check unknown service', 'PUT', CHECK,
     '{"Name": "c", "TTL": "10s", "ServiceID": "nope"}', 404, 'ServiceID "nope" does not exist'),
    ('check update bad status', 'PUT', '/v1/agent/check/update/serfHealth',
     '{"Status": "fine"}', 400, "Invalid check status: 'fine'"),
    # Unknown IDs, path tricks
    ('deregister unknown', 'PUT', '/v1/agent/service/deregister/nope', '', 404,
     'Unknown service ID "nope"'),
    ('deregister path traversal', 'PUT', '/v1/agent/service/deregister/../../etc/passwd', '', 404,
     'Unknown service ID'),
    ('deregister %2F traversal', 'PUT', '/v1/agent/service/deregister/..%2F..%2Fetc', '', 404,
     'Unknown service ID "../../etc"'),
    ('deregister bad escape', 'PUT', '/v1/agent/service/deregister/%zz', '', 400, 'escape'),
    ('check pass unknown', 'PUT', '/v1/agent/check/pass/nope', '', 404, 'Unknown check ID "nope"'),
    ('check pass non-TTL', 'PUT', '/v1/agent/check/pass/serfHealth', '', 500,
     'CheckID "serfHealth" does not have associated TTL'),
    ('check deregister unknown', 'PUT', '/v1/agent/check/deregister/nope', '', 404,
     'Unknown check ID'),
    ('maintenance unknown service', 'PUT', '/v1/agent/service/maintenance/nope?enable=true', '',
     404, 'nope'),
    ('maintenance missing enable', 'PUT', '/v1/agent/maintenance', '', 400,
     'Missing value for enable'),
    ('maintenance bad enable', 'PUT', '/v1/agent/maintenance?enable=maybe', '', 400,
     'Invalid value for enable: "maybe"'),
    ('agent service unknown', 'GET', '/v1/agent/service/nope', None, 404, 'unknown service ID'),
    # Query parameters
    ('index not a number', 'GET', '/v1/health/service/web?index=abc', None, 400, 'Invalid index'),
    ('index negative', 'GET', '/v1/health/service/web?index=-1', None, 400, 'Invalid index'),
    ('index overflow', 'GET', '/v1/health/service/web?index=99999999999999999999999', None, 400,
     'Invalid index'),
    ('wait not a duration', 'GET', '/v1/health/service/web?index=1&wait=forever', None, 400,
     'Invalid wait time'),
    ('wait overflow', 'GET', '/v1/health/service/web?index=1&wait=99999999999h', None, 400,
     'Invalid wait time'),
    ('stale and consistent', 'GET', '/v1/health/service/web?stale&consistent', None, 400,
     'Cannot specify ?stale with ?consistent'),
    ('bad passing value', 'GET', '/v1/health/service/web?passing=sometimes', None, 400,
     'Invalid value for ?passing'),
    ('bad filter', 'GET', '/v1/health/service/web?filter=Service.Port%20%3D%3D', None, 400,
     'filter'),
    ('unknown filter selector', 'GET', '/v1/agent/services?filter=Nope%20%3D%3D%201', None, 400,
     'filter'),
    ('other datacenter', 'GET', '/v1/catalog/services?dc=mars', None, 500,
     'No path to datacenter'),
    ('missing service name', 'GET', '/v1/health/service/', None, 400, 'Missing service name'),
    ('bad escape in query', 'GET', '/v1/catalog/services?x=%G1', None, 400, 'escape'),
    # Methods and routes
    ('DELETE on register', 'DELETE', REG, '', 405, 'method DELETE not allowed'),
    ('PATCH on services', 'PATCH', '/v1/agent/services', '', 405, 'method PATCH not allowed'),
    ('GET on register', 'GET', REG, None, 405, 'method GET not allowed'),
    ('unknown method', 'BREW', '/v1/agent/services', '', 405, 'not allowed'),
    ('unknown route', 'GET', '/v1/nonsense', None, 404,
     'Invalid URL path: not a recognized HTTP API endpoint'),
    ('tier 3 route', 'GET', '/v1/query', None, 404, 'Invalid URL path'),
    # Duplicates and sizes
    ('duplicate keys', 'PUT', REG, '{"Name": "a", "Name": "b", "Port": "x"}', 400, 'Port'),
    ('10 MB body', 'PUT', REG, '{"Name": "' + 'x' * (10 * 1024 * 1024) + '"}', 413,
     'Request body too large'),
    ('catalog register no node', 'PUT', '/v1/catalog/register', '{"Address": "1.2.3.4"}', 400,
     'Must provide node'),
    ('catalog register no address', 'PUT', '/v1/catalog/register', '{"Node": "x"}', 400,
     'Must provide address'),
    ('catalog register bad check status', 'PUT', '/v1/catalog/register',
     '{"Node": "x", "Address": "1.2.3.4", "Check": {"Name": "c", "Status": "meh"}}', 400,
     'Status for checks'),
    ('catalog deregister no node', 'PUT', '/v1/catalog/deregister', '{}', 400, 'Must provide node'),
]


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1',
                                   '-access-log', 'false'])
        cls.port = cls.agent.port
        status, _, _ = cls.call('PUT', REG, json.dumps(
            {'Name': 'web', 'ID': 'web-1', 'Port': 80, 'Check': {'TTL': '10m'}}))
        assert status == 200

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    @classmethod
    def call(cls, method, target, body=None):
        conn = http.client.HTTPConnection('127.0.0.1', cls.port, timeout=30)
        try:
            data = body.encode() if isinstance(body, str) else body
            conn.request(method, target, body=data)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read().decode('utf-8', 'replace')
        except (ConnectionResetError, BrokenPipeError):
            # The server may answer 413 and close before reading all of a huge body.
            return 413, {}, 'Request body too large (connection closed while sending)'
        finally:
            conn.close()

    def state(self):
        services = self.call('GET', '/v1/agent/services')[2]
        checks = self.call('GET', '/v1/health/state/any')[2]
        nodes = self.call('GET', '/v1/catalog/nodes')[2]
        return services, checks, nodes

    def test_cases(self):
        self.assertGreaterEqual(len(CASES), 60)
        before = self.state()
        for name, method, target, body, want_status, want_text in CASES:
            with self.subTest(name):
                status, headers, text = self.call(method, target, body)
                self.assertEqual(status, want_status, '%s: %s' % (name, text))
                self.assertIn(want_text, text)
                self.assertTrue(text.strip(), 'an error needs a message')
                self.assertNotIn('\n', text.strip(), 'one-line message: %r' % text)
                if status == 405:
                    self.assertIn('Allow', headers)
                self.assertEqual(self.call('GET', '/v1/status/leader')[0], 200)
        self.assertEqual(self.state(), before, 'the catalog changed')


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: bad_input_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
