#!/usr/bin/env python3
"""The client commands of the beacon binary end to end, against a `beacon agent` child process:
table and -format=json output, -http-addr and CONSUL_HTTP_ADDR, -h with examples, exit codes
(0 ok, 1 error, 2 usage), registration from flags and from a definition file, TTL checks, and
`beacon watch` printing changes as they happen.

Usage: python3 cli_test.py <path to the beacon binary>
"""
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None
TIMEOUT_S = 30  # any single CLI call; they normally take milliseconds


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Lines:
    """Reads a child's stdout on a thread, so tests can wait for a line with a deadline."""

    def __init__(self, proc):
        self.q = queue.Queue()
        self.all = []
        threading.Thread(target=self._run, args=(proc,), daemon=True).start()

    def _run(self, proc):
        for raw in proc.stdout:
            self.q.put(raw.decode('utf-8', 'replace').rstrip('\n'))
        self.q.put(None)

    def next(self, timeout_s=10):
        try:
            line = self.q.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError('no output line within %ss; so far: %r' % (timeout_s, self.all))
        if line is not None:
            self.all.append(line)
        return line


class CliTest(unittest.TestCase):
    agent = None

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '-1',
                                   '-log-level', 'warn', '-node', 'cli-node'])
        cls.addr = '127.0.0.1:%d' % cls.agent.port

    @classmethod
    def tearDownClass(cls):
        if cls.agent:
            cls.agent.stop()

    def setUp(self):
        # Each test starts from an agent without services.
        for sid in json.loads(self.api('GET', '/v1/agent/services')):
            self.api('PUT', '/v1/agent/service/deregister/' + sid)

    def api(self, method, path, body=None):
        req = urllib.request.Request('http://%s%s' % (self.addr, path), method=method,
                                     data=body.encode() if body is not None else None)
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return resp.read().decode()

    def beacon(self, *args, env_addr=True, extra_env=None):
        env = dict(os.environ)
        env.pop('CONSUL_HTTP_ADDR', None)
        if env_addr:
            env['CONSUL_HTTP_ADDR'] = self.addr
        env.update(extra_env or {})
        r = subprocess.run([BINARY] + list(args), capture_output=True, timeout=TIMEOUT_S,
                           env=env, check=False)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def ok(self, *args, **kw):
        code, out, err = self.beacon(*args, **kw)
        self.assertEqual(code, 0, 'beacon %s: exit %d\nstdout: %s\nstderr: %s'
                         % (' '.join(args), code, out, err))
        return out

    def register_web(self, sid='web-1', *extra):
        out = self.ok('register', '-name=web', '-id=' + sid, '-port=8080', '-tag=v1',
                      '-meta=region=us-east-1', '-check-ttl=10m', *extra)
        self.assertEqual(out, 'Registered service: web\n')

    # --- top level ---

    def test_version_and_usage(self):
        out = self.ok('version')
        self.assertRegex(out, r'^Beacon v\d+\.\d+\.\d+')
        code, _, err = self.beacon()
        self.assertEqual(code, 2)
        self.assertIn('Usage: beacon <command>', err)
        code, _, err = self.beacon('frobnicate')
        self.assertEqual(code, 2)
        self.assertIn('unknown command frobnicate', err)
        out = self.ok('-h')
        for command in ('services', 'health', 'register', 'deregister', 'check', 'watch',
                        'members', 'demo', 'version'):
            self.assertIn('  ' + command, out)

    def test_every_command_has_help_with_examples(self):
        for command in ('services', 'health', 'register', 'deregister', 'check', 'watch',
                        'members', 'demo'):
            with self.subTest(command=command):
                out = self.ok(command, '-h')
                self.assertIn('Usage: beacon ' + command, out)
                self.assertIn('Examples:', out)
                self.assertIn('-http-addr', out)
                self.assertNotIn('--http-addr', out, 'flags are shown Consul-style, one dash')

    # --- services / health / register / check / deregister ---

    def test_register_then_list_in_table_and_json(self):
        self.register_web()
        out = self.ok('services')
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ['Service', 'Tags'])
        self.assertIn(['web', 'v1'], [l.split() for l in lines[1:]])
        doc = json.loads(self.ok('services', '-format=json'))
        self.assertEqual(doc['web'], ['v1'])

        out = self.ok('health', 'web')
        rows = [l.split() for l in out.splitlines()]
        self.assertEqual(rows[0], ['ID', 'Service', 'Node', 'Address', 'Status', 'Tags'])
        self.assertEqual(rows[1], ['web-1', 'web', 'cli-node', '127.0.0.1:8080', 'critical', 'v1'])

    def test_ttl_check_pass_warn_fail(self):
        self.register_web()
        self.assertEqual(json.loads(self.ok('health', 'web', '-passing', '-format=json')), [])
        out = self.ok('check', 'pass', 'service:web-1', '-note=all good')
        self.assertEqual(out, 'Check service:web-1 is now passing\n')
        doc = json.loads(self.ok('health', 'web', '-passing', '-format=json'))
        self.assertEqual([e['Service']['ID'] for e in doc], ['web-1'])
        checks = {c['CheckID']: c for c in doc[0]['Checks']}
        self.assertEqual(checks['service:web-1']['Status'], 'passing')
        self.assertEqual(checks['service:web-1']['Output'], 'all good')
        self.ok('check', 'warn', 'service:web-1')
        self.assertIn(' warning ', self.ok('health', 'web'))
        self.ok('check', 'fail', 'service:web-1')
        self.assertIn(' critical ', self.ok('health', 'web'))

    def test_health_filters_by_tag_and_expression(self):
        self.register_web('web-1')
        self.ok('register', '-name=web', '-id=web-2', '-port=8081', '-tag=v2',
                '-meta=region=us-west-2')
        ids = lambda *a: [e['Service']['ID'] for e in json.loads(self.ok('health', 'web', *a,
                                                                          '-format=json'))]
        self.assertEqual(sorted(ids()), ['web-1', 'web-2'])
        self.assertEqual(ids('-tag=v2'), ['web-2'])
        self.assertEqual(ids('-filter=Service.Meta.region == "us-east-1"'), ['web-1'])
        code, out, err = self.beacon('health', 'nothing-here')
        self.assertEqual((code, out), (0, ''))
        self.assertIn('No instances of service "nothing-here"', err)
        self.assertEqual(json.loads(self.ok('health', 'nothing-here', '-format=json')), [])

    def test_register_from_a_definition_file(self):
        definition = {'services': [
            {'name': 'api', 'id': 'api-1', 'port': 9001, 'tags': ['blue'],
             'meta': {'team': 'core'}, 'weights': {'passing': 5, 'warning': 1},
             'check': {'ttl': '30s'}},
            {'Name': 'api', 'ID': 'api-2', 'Port': 9002,
             'Checks': [{'TCP': '127.0.0.1:9002', 'Interval': '10s'}]},
        ]}
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
            json.dump(definition, f)
        try:
            out = self.ok('register', f.name)
            self.assertEqual(out, 'Registered service: api\nRegistered service: api\n')
            services = json.loads(self.api('GET', '/v1/agent/services'))
            self.assertEqual(services['api-1']['Weights'], {'Passing': 5, 'Warning': 1})
            self.assertEqual(services['api-1']['Meta'], {'team': 'core'})
            self.assertEqual(services['api-2']['Port'], 9002)
            checks = json.loads(self.api('GET', '/v1/agent/checks'))
            self.assertEqual(checks['service:api-2']['Type'], 'tcp')
            # A file and service flags together is a usage error.
            code, _, err = self.beacon('register', f.name, '-name=x')
            self.assertEqual(code, 2, err)
        finally:
            os.unlink(f.name)

    def test_usage_errors_exit_2(self):
        cases = [
            ('register without a name', ['register', '-port=80']),
            ('register bad meta', ['register', '-name=x', '-meta=novalue']),
            ('register bad duration', ['register', '-name=x', '-check-ttl=10parsecs']),
            ('register missing file', ['register', '/nonexistent/definition.json']),
            ('health without a service', ['health']),
            ('unknown flag', ['services', '-bogus']),
            ('bad format', ['services', '-format=yaml']),
            ('check with a bad action', ['check', 'maybe', 'x']),
            ('https address', ['services', '-http-addr=https://127.0.0.1:8501']),
            ('watch bad timeout', ['watch', 'web', '-timeout=soon']),
        ]
        for name, args in cases:
            with self.subTest(name):
                code, out, err = self.beacon(*args)
                self.assertEqual(code, 2, 'stdout: %s\nstderr: %s' % (out, err))
                self.assertIn("-h' for usage", err)

    def test_operation_errors_exit_1(self):
        code, _, err = self.beacon('deregister', 'no-such-id')
        self.assertEqual(code, 1)
        self.assertIn('Unknown service ID "no-such-id"', err)
        code, _, err = self.beacon('check', 'pass', 'no-such-check')
        self.assertEqual(code, 1)
        self.assertIn('Error updating check no-such-check', err)
        code, _, err = self.beacon('register', '-name=x', '-weight-passing=0')
        self.assertEqual(code, 1)
        self.assertIn('Invalid Weights', err)
        dead = '127.0.0.1:%d' % free_port()
        for args in (['services'], ['health', 'web'], ['members'], ['watch', 'web']):
            with self.subTest(args=args):
                code, _, err = self.beacon(*args, '-http-addr=' + dead)
                self.assertEqual(code, 1, err)
                self.assertIn('Connection refused', err)

    def test_deregister(self):
        self.register_web()
        self.assertEqual(self.ok('deregister', 'web-1'), 'Deregistered service: web-1\n')
        self.assertEqual(json.loads(self.api('GET', '/v1/agent/services')), {})

    def test_address_from_flag_env_and_http_scheme(self):
        self.register_web()
        self.assertIn('web', self.ok('services', '-http-addr=' + self.addr, env_addr=False))
        self.assertIn('web', self.ok('services', env_addr=False,
                                     extra_env={'CONSUL_HTTP_ADDR': 'http://' + self.addr}))
        # The flag wins over the environment.
        dead = '127.0.0.1:%d' % free_port()
        self.assertIn('web', self.ok('services', '-http-addr=' + self.addr, env_addr=False,
                                     extra_env={'CONSUL_HTTP_ADDR': dead}))

    def test_members(self):
        out = self.ok('members')
        rows = [l.split() for l in out.splitlines()]
        self.assertEqual(rows[0], ['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC'])
        self.assertEqual(rows[1][0], 'cli-node')
        self.assertEqual(rows[1][2], 'alive')
        doc = json.loads(self.ok('members', '-format=json'))
        self.assertEqual(doc[0]['Name'], 'cli-node')

    # --- watch ---

    def start_watch(self, *args):
        env = dict(os.environ, CONSUL_HTTP_ADDR=self.addr)
        proc = subprocess.Popen([BINARY, 'watch'] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env)

        def cleanup():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            proc.stdout.close()
        self.addCleanup(cleanup)
        return proc, Lines(proc)

    def test_watch_prints_each_change_as_json_lines(self):
        self.register_web('web-1')
        proc, lines = self.start_watch('web', '-format=json', '-timeout=8s')
        first = json.loads(lines.next())
        self.assertEqual([e['Service']['ID'] for e in first['Entries']], ['web-1'])
        started = time.monotonic()
        self.ok('register', '-name=web', '-id=web-2', '-port=8081')
        second = json.loads(lines.next())
        self.assertLess(time.monotonic() - started, 5, 'a change arrives at once, not by polling')
        self.assertEqual(sorted(e['Service']['ID'] for e in second['Entries']), ['web-1', 'web-2'])
        self.assertGreater(second['Index'], first['Index'])
        self.ok('check', 'pass', 'service:web-1')
        third = json.loads(lines.next())
        statuses = {c['CheckID']: c['Status'] for e in third['Entries'] for c in e['Checks']}
        self.assertEqual(statuses['service:web-1'], 'passing')
        self.assertEqual(proc.wait(timeout=20), 0, 'a watch that reaches -timeout exits 0')

    def test_watch_table_and_ctrl_c(self):
        self.register_web('web-1')
        proc, lines = self.start_watch('web', '-passing')
        header = lines.next()
        self.assertRegex(header, r'^\[\d\d:\d\d:\d\d\] web: 0 instances, 0 passing \(index \d+\)$')
        self.ok('check', 'pass', 'service:web-1')
        line = lines.next()
        self.assertRegex(line, r'web: 1 instance, 1 passing')
        self.assertEqual(lines.next().split(), ['ID', 'Service', 'Node', 'Address', 'Status', 'Tags'])
        self.assertEqual(lines.next().split()[0], 'web-1')
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=10), 0, 'Ctrl-C ends a watch normally')


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.exit('usage: cli_test.py <beacon binary>')
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
