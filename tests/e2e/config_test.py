#!/usr/bin/env python3
"""Configuration files end to end: services and checks from -config-file/-config-dir are
registered at start, flags override files, unknown keys are reported with file and key, an
invalid file stops start-up with a clear message, and SIGHUP reloads definitions without
dropping state registered through the API.

Usage: python3 config_test.py <path to the beacon binary>
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
TIMEOUT_S = 10


def get(port, path):
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=TIMEOUT_S) as r:
        return json.loads(r.read().decode())


def put(port, path, body):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method='PUT',
                                 data=json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
        return r.status


def eventually(predicate, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.agent = None

    def tearDown(self):
        if self.agent:
            self.agent.stop()
        self.dir.cleanup()

    def write(self, name, doc):
        path = os.path.join(self.dir.name, name)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    def test_definitions_registered_and_flags_win(self):
        conf_dir = os.path.join(self.dir.name, 'conf.d')
        os.mkdir(conf_dir)
        base = self.write('base.json', {
            'datacenter': 'eu1', 'node_name': 'from-file', 'log_level': 'INFO',
            'ports': {'http': 1, 'dns': -1}, 'node_meta': {'rack': 'r1'},
            'bogus_key': 1,
            'service': {'name': 'web', 'id': 'web-1', 'port': 80, 'tags': ['a'],
                        'check': {'ttl': '30s'}},
        })
        with open(os.path.join(conf_dir, '10-more.json'), 'w', encoding='utf-8') as f:
            json.dump({'services': [{'Name': 'db', 'Port': 5432}],
                       'checks': [{'name': 'disk', 'ttl': '1m', 'status': 'passing'}]}, f)
        self.agent = Agent(BINARY, ['-config-file', base, '-config-dir', conf_dir,
                                    '-http-port', '0', '-dev', '-node', 'from-flag'])
        port = self.agent.port  # -http-port 0 won over ports.http = 1
        services = get(port, '/v1/agent/services')
        self.assertEqual(sorted(services), ['db', 'web-1'])
        self.assertEqual(services['web-1']['Tags'], ['a'])
        self.assertEqual(get(port, '/v1/agent/checks')['disk']['Status'], 'passing')
        self.assertIn('service:web-1', get(port, '/v1/agent/checks'))
        me = get(port, '/v1/agent/self')
        self.assertEqual(me['Config']['NodeName'], 'from-flag')   # the flag won
        self.assertEqual(me['Config']['Datacenter'], 'eu1')       # the file applied
        self.assertEqual(me['Meta'], {'rack': 'r1'})
        self.assertTrue(eventually(lambda: any(
            'base.json: unknown key \\"bogus_key\\"' in line or
            'base.json: unknown key "bogus_key"' in line for line in self.agent.output)),
            self.agent.tail())

    def test_invalid_file_stops_startup(self):
        cases = {
            'broken.json': '{"datacenter": ',
            'badtype.json': '{"ports": {"http": "eighty"}}',
            'badservice.json': '{"service": {"port": 80}}',
        }
        for name, text in cases.items():
            with self.subTest(name=name):
                path = self.write(name, text)
                proc = subprocess.run([BINARY, 'agent', '-dev', '-http-port', '0', '-dns-port',
                                       '-1', '-config-file', path], capture_output=True,
                                      timeout=30, check=False)
                self.assertNotEqual(proc.returncode, 0)
                err = proc.stderr.decode()
                self.assertIn(name if name != 'badservice.json' else 'Missing service name', err)
                self.assertNotIn('listening', proc.stdout.decode())

    def test_sighup_reloads_definitions_only(self):
        path = self.write('svc.json', {'services': [{'name': 'a'}, {'name': 'b'}]})
        self.agent = Agent(BINARY, ['-config-file', path, '-dev', '-http-port', '0',
                                    '-dns-port', '-1'])
        port = self.agent.port
        self.assertEqual(put(port, '/v1/agent/service/register', {'Name': 'api-owned'}), 200)
        self.write('svc.json', {'services': [{'name': 'b', 'tags': ['new']}, {'name': 'c'}]})
        self.agent.proc.send_signal(signal.SIGHUP)
        self.assertTrue(eventually(
            lambda: sorted(get(port, '/v1/agent/services')) == ['api-owned', 'b', 'c']),
            get(port, '/v1/agent/services'))
        self.assertEqual(get(port, '/v1/agent/services')['b']['Tags'], ['new'])
        # A broken file on reload keeps what runs.
        self.write('svc.json', '{not json')
        self.agent.proc.send_signal(signal.SIGHUP)
        self.assertTrue(eventually(lambda: any('reload failed' in l for l in self.agent.output)))
        self.assertEqual(sorted(get(port, '/v1/agent/services')), ['api-owned', 'b', 'c'])


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: config_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
