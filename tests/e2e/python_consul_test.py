#!/usr/bin/env python3
"""End-to-end: the unmodified python-consul 0.7.1 client (Debian python3-consul) against `beacon agent`.

Run by CTest as `python3 python_consul_test.py <path-to-beacon-binary> [unittest args...]`.

Each test starts its own agent (`beacon agent -dev -http-port 0 -dns-port 0 -node e2e`), reads the
port from the line `beacon: http listening on <addr>:<port>` on its stdout, drives it through
python-consul the way Patroni and other python users do (contract consul-api.md sections 4 and 9.2),
and stops it by PID in tearDown (SIGTERM, SIGKILL after 5 s). Every wait has a deadline: agent
startup, each HTTP request (the client's session gets a timeout), blocking queries, thread joins.
The agent's output is printed after each test; CTest shows it only when the test fails.
"""

import os
import sys
import threading
import time
import unittest

DEBIAN_PYTHON = '/usr/bin/python3'


def _import_consul():
    """Imports python-consul; re-runs this script under Debian's python3 when the python3 first on
    PATH is another interpreter (pyenv, venv) that cannot see Debian's dist-packages."""
    try:
        import consul  # pylint: disable=import-outside-toplevel
        return consul
    except ImportError:
        pass
    if (not os.environ.get('BEACON_E2E_REEXEC') and os.access(DEBIAN_PYTHON, os.X_OK)
            and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)):
        os.environ['BEACON_E2E_REEXEC'] = '1'
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON] + sys.argv)
    sys.stderr.write('python_consul_test: cannot import python-consul under %s; install the Debian '
                     'package python3-consul (scripts/install-deps.sh)\n' % sys.executable)
    sys.exit(2)


consul = _import_consul()

BINARY = None  # set in main() from argv[1]
HTTP_TIMEOUT_S = 30  # per request; longer than any blocking wait used below

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402  pylint: disable=wrong-import-position


def make_client(port):
    """A python-consul client whose HTTP requests can never hang forever."""
    for var in ('CONSUL_HTTP_ADDR', 'CONSUL_HTTP_SSL', 'CONSUL_HTTP_SSL_VERIFY', 'CONSUL_HTTP_TOKEN'):
        os.environ.pop(var, None)  # python-consul would let these override host/port/token
    client = consul.Consul(host='127.0.0.1', port=port)
    session = client.http.session
    session.trust_env = False  # no proxy from the environment for loopback traffic
    request = session.request

    def request_with_timeout(method, url, **kwargs):
        kwargs.setdefault('timeout', HTTP_TIMEOUT_S)
        return request(method, url, **kwargs)

    session.request = request_with_timeout
    return client


def ids_of(health_entries):
    return sorted(entry['Service']['ID'] for entry in health_entries)


class PythonConsulTest(unittest.TestCase):
    maxDiff = None
    startup_error = None  # set once an agent failed to start: later tests fail fast, not slowly

    def setUp(self):
        if PythonConsulTest.startup_error:
            self.fail('agent did not start in an earlier test (see above): %s'
                      % PythonConsulTest.startup_error)
        try:
            self.agent = Agent(BINARY, ['-dev', '-http-port', '0', '-dns-port', '0', '-node', 'e2e'])
        except AssertionError as err:
            PythonConsulTest.startup_error = str(err).splitlines()[0]
            raise
        self.c = make_client(self.agent.port)

    def tearDown(self):
        self.c.http.session.close()
        rc = self.agent.stop()
        sys.stderr.write('\n[%s] agent pid %d exit code %s\n%s\n'
                         % (self.id(), self.agent.proc.pid, rc, self.agent.tail()))

    # -- helpers ------------------------------------------------------------------------------

    def register(self, service_id, name='web', tags=('v1',), port=8080):
        ok = self.c.agent.service.register(name, service_id=service_id, port=port, tags=list(tags),
                                           check=consul.Check.ttl('10s'))
        self.assertTrue(ok, 'register %s: agent did not answer 200' % service_id)

    def passing_ids(self, name='web', tag=None):
        _, nodes = self.c.health.service(name, passing=True, tag=tag)
        return ids_of(nodes)

    # -- tests --------------------------------------------------------------------------------

    def test_register_pass_discover_and_block(self):
        self.register('web-1', tags=('v1', 'primary'))

        # A new TTL check starts critical (contract 4.1), so the instance is not passing yet.
        self.assertEqual(self.passing_ids(tag='v1'), [])
        self.assertTrue(self.c.agent.check.ttl_pass('service:web-1'))

        index, nodes = self.c.health.service('web', passing=True, tag='v1')
        self.assertIsInstance(index, str)
        self.assertRegex(index, r'^[0-9]+$', 'X-Consul-Index must be a decimal integer')
        self.assertGreater(int(index), 0, 'X-Consul-Index is never 0 (contract 1.4)')
        self.assertEqual(ids_of(nodes), ['web-1'])
        entry = nodes[0]
        self.assertEqual(entry['Service']['Service'], 'web')
        self.assertEqual(entry['Service']['Port'], 8080)
        self.assertEqual(sorted(entry['Service']['Tags']), ['primary', 'v1'])
        self.assertEqual(entry['Node']['Node'], 'e2e')
        statuses = {check['CheckID']: check['Status'] for check in entry['Checks']}
        self.assertEqual(statuses.get('service:web-1'), 'passing', statuses)
        self.assertEqual(statuses.get('serfHealth'), 'passing', statuses)
        self.assertEqual(self.passing_ids(tag='nosuchtag'), [])

        # Blocking query parked in another thread (with its own client: a requests session is not
        # meant to be shared between threads), woken by a registration in this one.
        result = {}

        def blocking_read():
            client = make_client(self.agent.port)
            started = time.monotonic()
            try:
                result['index'], result['nodes'] = client.health.service('web', index=index,
                                                                         wait='10s')
            except Exception as err:  # pylint: disable=broad-except
                result['error'] = repr(err)
            finally:
                client.http.session.close()
            result['elapsed'] = time.monotonic() - started

        waiter = threading.Thread(target=blocking_read, daemon=True)
        waiter.start()
        time.sleep(0.5)  # let the query park; the assertions below tell a non-blocking server apart
        self.assertNotIn('elapsed', result,
                         'blocking query with index=%s returned before any write: %r'
                         % (index, result))
        self.register('web-2', tags=('v1',), port=8081)
        waiter.join(timeout=20)
        self.assertFalse(waiter.is_alive(), 'blocking query did not return within 20 s')
        self.assertNotIn('error', result, result.get('error'))
        self.assertLess(result['elapsed'], 5.0,
                        'blocking query was not woken by the write (took %.1f s of its 10 s wait)'
                        % result['elapsed'])
        self.assertGreater(int(result['index']), int(index), 'index did not grow after a write')
        self.assertEqual(ids_of(result['nodes']), ['web-1', 'web-2'])

        # No write: a blocking query returns at its wait (plus < wait/16 jitter), index unchanged.
        index2 = result['index']
        started = time.monotonic()
        index3, _ = self.c.health.service('web', index=index2, wait='1s')
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.9, 'wait=1s returned early with no write')
        self.assertLess(elapsed, 5.0, 'wait=1s took %.1f s' % elapsed)
        self.assertEqual(index3, index2)

    def test_agent_catalog_and_health_reads(self):
        self.register('web-1', tags=('v1', 'primary'))
        self.register('web-2', tags=('v2',), port=8081)
        self.register('db-1', name='db', tags=(), port=5432)
        self.assertTrue(self.c.agent.check.ttl_pass('service:web-1', 'all good'))

        services = self.c.agent.services()
        self.assertEqual(sorted(services), ['db-1', 'web-1', 'web-2'])
        self.assertEqual(services['web-1']['Service'], 'web')
        self.assertEqual(services['web-1']['Port'], 8080)
        self.assertEqual(sorted(services['web-1']['Tags']), ['primary', 'v1'])
        self.assertEqual(services['db-1']['Tags'], [], 'empty Tags must be [] (contract 1.3)')

        index, catalog = self.c.catalog.services()
        self.assertRegex(index, r'^[1-9][0-9]*$')
        self.assertEqual(sorted(catalog.get('web', [])), ['primary', 'v1', 'v2'], catalog)
        self.assertEqual(catalog.get('db'), [], catalog)

        index, instances = self.c.catalog.service('web')
        self.assertRegex(index, r'^[1-9][0-9]*$')
        self.assertEqual(sorted(i['ServiceID'] for i in instances), ['web-1', 'web-2'])
        by_id = {i['ServiceID']: i for i in instances}
        self.assertEqual(by_id['web-2']['ServicePort'], 8081)
        self.assertEqual(by_id['web-2']['ServiceName'], 'web')
        self.assertEqual(by_id['web-2']['Node'], 'e2e')
        _, tagged = self.c.catalog.service('web', tag='v2')
        self.assertEqual([i['ServiceID'] for i in tagged], ['web-2'])

        index, checks = self.c.health.checks('web')
        self.assertRegex(index, r'^[1-9][0-9]*$')
        by_check = {check['CheckID']: check for check in checks}
        self.assertEqual(sorted(by_check), ['service:web-1', 'service:web-2'])
        self.assertEqual(by_check['service:web-1']['Status'], 'passing')
        self.assertEqual(by_check['service:web-1']['Output'], 'all good')
        self.assertEqual(by_check['service:web-1']['ServiceName'], 'web')
        self.assertEqual(by_check['service:web-2']['Status'], 'critical')

        agent_checks = self.c.agent.checks()
        self.assertIn('serfHealth', agent_checks)
        for check_id in ('service:web-1', 'service:web-2', 'service:db-1'):
            self.assertIn(check_id, agent_checks)
        self.assertEqual(agent_checks['service:db-1']['ServiceID'], 'db-1')
        self.assertEqual(agent_checks['service:db-1']['Type'], 'ttl')
        self.assertEqual(agent_checks['service:db-1']['Status'], 'critical')

    def test_ttl_fail_and_warn(self):
        self.register('web-1')
        self.assertTrue(self.c.agent.check.ttl_pass('service:web-1'))
        self.assertEqual(self.passing_ids(), ['web-1'])

        self.assertTrue(self.c.agent.check.ttl_warn('service:web-1', 'slow'))
        check = self.c.agent.checks()['service:web-1']
        self.assertEqual((check['Status'], check['Output']), ('warning', 'slow'))
        self.assertEqual(self.passing_ids(), [], 'warning must drop the instance from ?passing')

        self.assertTrue(self.c.agent.check.ttl_fail('service:web-1', 'down'))
        check = self.c.agent.checks()['service:web-1']
        self.assertEqual((check['Status'], check['Output']), ('critical', 'down'))

        self.assertFalse(self.c.agent.check.ttl_pass('service:nope'),
                         'pass on an unknown check must not answer 200')

    def test_status_and_self(self):
        leader = self.c.status.leader()
        self.assertIsInstance(leader, str)
        self.assertRegex(leader, r'^\S+:[0-9]+$', 'leader is "<ip>:<port>" (contract 4.15)')
        peers = self.c.status.peers()
        self.assertEqual(peers, [leader])

        info = self.c.agent.self()
        self.assertEqual(info['Config']['Datacenter'], 'dc1')
        self.assertEqual(info['Config']['NodeName'], 'e2e')
        for key, value in info.items():
            self.assertTrue(value is None or isinstance(value, dict),
                            'agent/self top-level %r must be an object or null (contract 4.16)'
                            % key)

    def test_service_maintenance(self):
        self.register('web-1')
        self.assertTrue(self.c.agent.check.ttl_pass('service:web-1'))
        self.assertEqual(self.passing_ids(), ['web-1'])

        self.assertTrue(self.c.agent.service.maintenance('web-1', 'true', 'why'))
        maint = self.c.agent.checks().get('_service_maintenance:web-1')
        self.assertIsNotNone(maint, 'maintenance on must add _service_maintenance:web-1')
        self.assertEqual(maint['Status'], 'critical')
        self.assertEqual(maint['Notes'], 'why')
        self.assertEqual(maint['ServiceID'], 'web-1')
        self.assertEqual(self.passing_ids(), [], 'maintenance must hide the instance')
        _, nodes = self.c.health.service('web')
        self.assertEqual(ids_of(nodes), ['web-1'], 'without ?passing the instance is still listed')

        # Idempotent, then off.
        self.assertTrue(self.c.agent.service.maintenance('web-1', 'true', 'why'))
        self.assertTrue(self.c.agent.service.maintenance('web-1', 'false'))
        self.assertNotIn('_service_maintenance:web-1', self.c.agent.checks())
        self.assertEqual(self.passing_ids(), ['web-1'])

        self.assertFalse(self.c.agent.service.maintenance('nope', 'true'),
                         'maintenance on an unknown service must not answer 200')

    def test_deregister(self):
        self.register('web-1')
        self.register('web-2', port=8081)
        index, _ = self.c.health.service('web')

        # python-consul 0.7.1 sends GET for deregister (contract 9.2).
        self.assertTrue(self.c.agent.service.deregister('web-1'))
        self.assertEqual(sorted(self.c.agent.services()), ['web-2'])
        self.assertNotIn('service:web-1', self.c.agent.checks(), 'deregister must remove the check')
        index2, nodes = self.c.health.service('web')
        self.assertEqual(ids_of(nodes), ['web-2'])
        self.assertGreater(int(index2), int(index), 'deregister must move the service index')
        _, instances = self.c.catalog.service('web')
        self.assertEqual([i['ServiceID'] for i in instances], ['web-2'])
        _, checks = self.c.health.checks('web')
        self.assertEqual([check['CheckID'] for check in checks], ['service:web-2'])

        self.assertTrue(self.c.agent.service.deregister('web-2'))
        self.assertEqual(self.c.agent.services(), {})
        _, nodes = self.c.health.service('web')
        self.assertEqual(nodes, [])
        _, catalog = self.c.catalog.services()
        self.assertNotIn('web', catalog)

        self.assertFalse(self.c.agent.service.deregister('web-1'),
                         'deregistering an unknown ID must answer 404')


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s <path-to-beacon-binary> [unittest args...]\n' % sys.argv[0])
        return 2
    BINARY = os.path.abspath(sys.argv[1])
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        sys.stderr.write('python_consul_test: beacon binary not found or not executable: %s\n'
                         % BINARY)
        return 1
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2, exit=False)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
