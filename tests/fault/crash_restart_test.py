#!/usr/bin/env python3
"""Fault: acknowledged writes survive `kill -9`, and nothing is left half-written.

Run by CTest as `python3 crash_restart_test.py <path-to-beacon-binary> [unittest args...]`.
Only the standard library is used (raw HTTP/1.1 through http.client, no proxy, 30 s timeouts).

Design (STYLE.md section 8, durability; the one-writer rule of section 5: persist, then reply):
  round r = 0, 1, 2:
    1. 8 threads register N=200 services with a TTL check (TTL 10m, so nothing expires during the
       test) and pass, fail, pass-then-fail or leave each check. Every write must get a 200.
    2. The same threads keep registering more services; after a random 0.05-0.6 s the agent gets
       SIGKILL while requests are in flight.
    3. The agent restarts on the same -data-dir (new port) and /v1/agent/services and
       /v1/agent/checks are compared with the model:
       - every acknowledged registration is present with identical Name/Tags/Port/Meta;
       - every acknowledged pass/fail shows its Status and Output (the note);
       - a write that was in flight at the kill may or may not be there, but all or nothing:
         a present service has its check, no check outlives its service, nothing unknown appears.
The model only trusts writes that were answered 200; after each restart it adopts whatever the
in-flight writes turned out to be, so later rounds stay exact. The seed is printed; set
BEACON_FAULT_SEED to replay a run's timing choices.
"""

import collections
import http.client
import json
import os
import queue
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent, scaled  # noqa: E402  pylint: disable=wrong-import-position

BINARY = None  # set in main() from argv[1]
N_SERVICES = 200
N_THREADS = 32  # issue 8: 32 clients
N_ROUNDS = 20  # issue 8: 20 rounds of kill -9
MAX_STREAM_SERVICES = 5000    # bound on the in-flight stream of a round, in case the kill is slow
STREAM_DEADLINE_S = 20        # and a time bound on it
# Both longer under the sanitizer presets (BEACON_TEST_TIMEOUT_SCALE).
STARTUP_TIMEOUT_S = scaled(60)  # recovery after a crash may replay a log
HTTP_TIMEOUT_S = scaled(30)
CHECK_TTL = '10m'
OUR_ID_RE = re.compile(r'^r[0-9]+-[as][0-9]+$')

ANY_OUTPUT = object()  # the output of a check nobody has updated is not part of the contract


class Http:
    """One keep-alive HTTP/1.1 connection to the agent. Raises OSError/HTTPException on failure."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=HTTP_TIMEOUT_S)
        data = None if body is None else json.dumps(body).encode()
        headers = {'Content-Type': 'application/json'} if data is not None else {}
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, payload.decode('utf-8', 'replace')

    def get_json(self, path):
        status, body = self.request('GET', path)
        if status != 200:
            raise AssertionError('GET %s: %d %s' % (path, status, body))
        return json.loads(body)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Expected:
    """What the agent must show for one service after a restart.

    `registered` is 'acked' or 'pending' (sent, no 200 seen). `check` is the acknowledged
    (Status, Output) of its TTL check; `pending_check` the state an unanswered pass/fail would
    have set. Either may be what the agent shows, but nothing else.
    """

    def __init__(self, definition):
        self.definition = definition
        self.registered = 'pending'
        self.check = ('critical', ANY_OUTPUT)  # new checks start critical (contract 4.1)
        self.pending_check = None

    def allowed_checks(self):
        return [self.check] + ([self.pending_check] if self.pending_check else [])


def definition_for(service_id, round_no, i):
    return {
        'ID': service_id,
        'Name': 'app%d' % (i % 7),
        'Tags': ['round%d' % round_no, 't%d' % (i % 5)] + (['extra'] if i % 3 == 0 else []),
        'Port': 20000 + (i % 40000),
        'Meta': {'round': str(round_no), 'i': str(i), 'owner': 'fault-test'},
        'Check': {'TTL': CHECK_TTL},
    }


def check_plan(i):
    """Which check updates service i gets: a status change, an output-only change (a new check is
    already critical, so fail only changes Output), a change and back, or none."""
    return (['pass'], ['fail'], ['pass', 'fail'], [])[i % 4]


class Model:
    """Shared, lock-protected record of what the agent acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.services = {}   # service id -> Expected
        self.gone = set()    # ids that were in flight at a kill and found absent: must stay absent
        self.acked_writes = 0
        self.unacked_writes = 0


class CrashRestartTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix='beacon-fault-')
        self.agent = None
        self.failed = False
        seed = os.environ.get('BEACON_FAULT_SEED') or str(random.SystemRandom().randrange(1 << 30))
        self.rng = random.Random(int(seed))
        sys.stderr.write('crash_restart_test: seed %s (set BEACON_FAULT_SEED=%s to replay), '
                         'data dir %s\n' % (seed, seed, self.data_dir))

    def tearDown(self):
        if self.agent is not None:
            rc = self.agent.stop()
            sys.stderr.write('\nlast agent exit code %s\n%s\n' % (rc, self.agent.tail()))
        if self.failed:
            sys.stderr.write('crash_restart_test: keeping data dir %s for inspection\n'
                             % self.data_dir)
        else:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def start_agent(self):
        self.agent = Agent(BINARY, ['-data-dir', self.data_dir, '-node', 'fault', '-http-port', '0',
                                    '-dns-port', '0'], startup_timeout_s=STARTUP_TIMEOUT_S)
        return self.agent.port

    # -- writers ------------------------------------------------------------------------------

    def write_service(self, http_conn, model, service_id, round_no, i, must_ack):
        """Registers one service and applies its check plan. Returns False once a write was not
        acknowledged (the worker then stops: after a kill every further write fails anyway)."""
        definition = definition_for(service_id, round_no, i)
        expected = Expected(definition)
        with model.lock:
            model.services[service_id] = expected
        if not self.acked(http_conn, model, 'PUT', '/v1/agent/service/register', definition,
                          must_ack):
            return False
        with model.lock:
            expected.registered = 'acked'
        for step, action in enumerate(check_plan(i)):
            note = '%s %s step %d' % (action, service_id, step)
            target = ('passing', note) if action == 'pass' else ('critical', note)
            with model.lock:
                expected.pending_check = target
            path = '/v1/agent/check/%s/%s?note=%s' % (
                action, urllib.parse.quote('service:' + service_id, safe=''),
                urllib.parse.quote(note, safe=''))
            if not self.acked(http_conn, model, 'PUT', path, None, must_ack):
                return False
            with model.lock:
                expected.check = target
                expected.pending_check = None
        return True

    def acked(self, http_conn, model, method, path, body, must_ack):
        try:
            status, text = http_conn.request(method, path, body)
        except (OSError, http.client.HTTPException) as err:
            if must_ack:
                raise AssertionError('%s %s: no response from a healthy agent: %r'
                                     % (method, path, err)) from err
            with model.lock:
                model.unacked_writes += 1
            return False
        if status != 200:
            if must_ack:
                raise AssertionError('%s %s: %d %s' % (method, path, status, text))
            with model.lock:
                model.unacked_writes += 1
            return False
        with model.lock:
            model.acked_writes += 1
        return True

    def run_workers(self, port, work, must_ack):
        """Runs `work(http_conn)` on N_THREADS threads; returns (threads, errors)."""
        errors = []

        def worker():
            conn = Http(port)
            try:
                work(conn)
            except Exception as err:  # pylint: disable=broad-except
                errors.append('%s: %s' % (threading.current_thread().name, err))
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, name='writer-%d' % n, daemon=True)
                   for n in range(N_THREADS)]
        for thread in threads:
            thread.start()
        if must_ack:
            self.join_all(threads, timeout_s=300)
        return threads, errors

    def join_all(self, threads, timeout_s):
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in threads if thread.is_alive()]
        self.assertFalse(stuck, 'writer threads still running after %d s: %s' % (timeout_s, stuck))

    def acknowledged_phase(self, port, model, round_no):
        todo = queue.Queue()
        for i in range(N_SERVICES):
            todo.put(i)

        def work(conn):
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                self.write_service(conn, model, 'r%d-s%d' % (round_no, i), round_no, i, True)

        _, errors = self.run_workers(port, work, must_ack=True)
        self.assertEqual(errors, [], 'writes to a healthy agent failed:\n' + '\n'.join(errors[:20]))

    def crash_phase(self, port, model, round_no):
        counter = iter(range(MAX_STREAM_SERVICES))
        counter_lock = threading.Lock()
        deadline = time.monotonic() + STREAM_DEADLINE_S

        def work(conn):
            while time.monotonic() < deadline:
                with counter_lock:
                    i = next(counter, None)
                if i is None:
                    return
                if not self.write_service(conn, model, 'r%d-a%d' % (round_no, i), round_no,
                                          N_SERVICES + i, False):
                    return

        before = model.acked_writes
        threads, errors = self.run_workers(port, work, must_ack=False)
        time.sleep(self.rng.uniform(0.05, 0.6))
        in_flight_acks = model.acked_writes - before
        self.agent.kill9()
        self.join_all(threads, timeout_s=HTTP_TIMEOUT_S + 10)
        self.assertEqual(errors, [], '\n'.join(errors[:20]))
        sys.stderr.write('round %d: killed agent pid %d after %d acknowledged stream writes\n'
                         % (round_no, self.agent.proc.pid, in_flight_acks))

    # -- verification -------------------------------------------------------------------------

    def verify(self, port, model, round_no):
        conn = Http(port)
        try:
            services = conn.get_json('/v1/agent/services')
            checks = conn.get_json('/v1/agent/checks')
        finally:
            conn.close()
        problems = []
        counts = collections.Counter()
        with model.lock:
            for service_id, expected in sorted(model.services.items()):
                self.verify_one(service_id, expected, services, checks, problems, counts)
            for service_id in sorted(model.gone):
                if service_id in services:
                    problems.append('%s: was absent after an earlier crash, now present'
                                    % service_id)
            for service_id in sorted(services):
                if OUR_ID_RE.match(service_id) and service_id not in model.services:
                    problems.append('%s: present but never written (phantom service)' % service_id)
            for check_id, check in sorted(checks.items()):
                owner = check.get('ServiceID') or ''
                if owner and owner not in services:
                    problems.append('check %s: its service %s is gone (orphan check)'
                                    % (check_id, owner))
            if not problems:
                self.adopt(services, checks, model)
        sys.stderr.write('round %d: verified %d services after restart: %s\n'
                         % (round_no, len(model.services), dict(counts)))
        if problems:
            self.failed = True
            self.fail('after kill -9 and restart (round %d) %d problem(s):\n  %s%s'
                      % (round_no, len(problems), '\n  '.join(problems[:25]),
                         '\n  ...' if len(problems) > 25 else ''))

    @staticmethod
    def verify_one(service_id, expected, services, checks, problems, counts):
        check_id = 'service:' + service_id
        present = services.get(service_id)
        if present is None:
            if expected.registered == 'acked':
                problems.append('%s: acknowledged registration lost' % service_id)
            else:
                counts['in-flight registration absent'] += 1
            if check_id in checks:
                problems.append('%s: service absent but its check is present' % service_id)
            return
        counts['acked' if expected.registered == 'acked' else 'in-flight registration kept'] += 1
        definition = expected.definition
        got = (present.get('Service'), sorted(present.get('Tags') or []), present.get('Port'),
               present.get('Meta') or {})
        want = (definition['Name'], sorted(definition['Tags']), definition['Port'],
                definition['Meta'])
        if got != want:
            problems.append('%s: definition differs: want Name/Tags/Port/Meta %r, got %r'
                            % (service_id, want, got))
        check = checks.get(check_id)
        if check is None:
            problems.append('%s: service present but its check %s is missing (half-written)'
                            % (service_id, check_id))
            return
        if check.get('ServiceID') != service_id:
            problems.append('%s: check ServiceID is %r' % (check_id, check.get('ServiceID')))
        state = (check.get('Status'), check.get('Output'))
        allowed = expected.allowed_checks()
        if not any(state[0] == status and (output is ANY_OUTPUT or state[1] == output)
                   for status, output in allowed):
            shown = [(s, '<any>' if o is ANY_OUTPUT else o) for s, o in allowed]
            problems.append('%s: Status/Output %r, expected one of %r (%s)'
                            % (check_id, state, shown,
                               'acknowledged update lost' if expected.pending_check is None
                               else 'neither the acknowledged nor the in-flight state'))

    @staticmethod
    def adopt(services, checks, model):
        """Makes what the restart showed for in-flight writes the new acknowledged state."""
        for service_id, expected in list(model.services.items()):
            if service_id not in services:
                del model.services[service_id]
                model.gone.add(service_id)
                continue
            expected.registered = 'acked'
            check = checks['service:' + service_id]
            if expected.pending_check is not None or expected.check[1] is ANY_OUTPUT:
                expected.check = (check['Status'], check['Output'])
            expected.pending_check = None

    # -- the test -----------------------------------------------------------------------------

    def test_acknowledged_writes_survive_kill9(self):
        model = Model()
        try:
            port = self.start_agent()
            for round_no in range(N_ROUNDS):
                self.acknowledged_phase(port, model, round_no)
                self.crash_phase(port, model, round_no)
                port = self.start_agent()
                self.verify(port, model, round_no)
            sys.stderr.write('done: %d acknowledged writes, %d unanswered, %d services kept\n'
                             % (model.acked_writes, model.unacked_writes, len(model.services)))
            self.assertGreaterEqual(len(model.services), N_ROUNDS * N_SERVICES)
        except BaseException:
            self.failed = True
            raise


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s <path-to-beacon-binary> [unittest args...]\n' % sys.argv[0])
        return 2
    BINARY = os.path.abspath(sys.argv[1])
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        sys.stderr.write('crash_restart_test: beacon binary not found or not executable: %s\n'
                         % BINARY)
        return 1
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2, exit=False)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
