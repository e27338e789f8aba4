#!/usr/bin/env python3
"""End-to-end: Beacon's DNS interface (consul-api.md section 6) queried with `dig` (Debian dnsutils).

Run by CTest as `python3 dns_dig_test.py <path-to-beacon-binary> [unittest args...]`.

Two agents are started once for the whole run (`beacon agent -dev -http-port 0 -dns-port 0`; the
second also with -domain, -dns-only-passing, -dns-enable-truncate and -dns-service-ttl), their
ports read from the `beacon: http listening on ...` and `beacon: dns listening on ...` lines.
Services are registered over the HTTP API with urllib (TTL checks created passing, warning or
critical), then every name form and record type is asked with dig over UDP (with and without
EDNS0) and TCP, and dig's output is parsed. Only the standard library is used, so any python3
runs this; dig runs as a subprocess.

Every wait is bounded: agent start-up, each HTTP request, each dig (+time/+tries and a subprocess
timeout), and every retry loop. Agents are stopped by PID (SIGTERM, then SIGKILL after 5 s).
"""

import collections
import json
import os
import queue
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

BINARY = None  # set in main() from argv[1]
STARTUP_TIMEOUT_S = 30
STOP_TIMEOUT_S = 5
HTTP_TIMEOUT_S = 10
DIG_TIMEOUT_S = 20
LISTEN_RE = re.compile(r'^beacon: (http|dns) listening on (\S+):(\d+)\s*$')
NODE = 'e2e'


class Agent:
    """A `beacon agent` child process: started, its output drained, stopped by PID."""

    def __init__(self, args):
        self.output = collections.deque(maxlen=300)
        self._ports = queue.Queue()
        self.proc = subprocess.Popen([BINARY, 'agent'] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._drain, daemon=True).start()
        ports = {}
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while len(ports) < 2:
            try:
                item = self._ports.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise AssertionError('agent did not print both listening lines within %d s\n%s'
                                     % (STARTUP_TIMEOUT_S, self.tail()))
            if item is None:
                rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
                raise AssertionError('agent exited with %s before listening\n%s' % (rc, self.tail()))
            ports[item[0]] = item[1]
        self.http_port = ports['http']
        self.dns_port = ports['dns']

    def _drain(self):
        for raw in self.proc.stdout:
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            self.output.append(line)
            m = LISTEN_RE.match(line)
            if m:
                self._ports.put((m.group(1), int(m.group(3))))
        self._ports.put(None)

    def tail(self):
        return '\n'.join(self.output)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        return self.proc.returncode

    # -- HTTP ---------------------------------------------------------------------------------

    def put(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else b''
        req = urllib.request.Request('http://127.0.0.1:%d%s' % (self.http_port, path), data=data,
                                     method='PUT')
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            if resp.status != 200:
                raise AssertionError('PUT %s: %s' % (path, resp.status))

    def register(self, sid, name, port, address='', tags=(), status='passing'):
        body = {'ID': sid, 'Name': name, 'Port': port, 'Tags': list(tags),
                'Check': {'TTL': '300s', 'Status': status}}
        if address:
            body['Address'] = address
        self.put('/v1/agent/service/register', body)


Answer = collections.namedtuple('Answer', 'status flags answer authority additional size text')


def dig(port, *args):
    """Runs dig against 127.0.0.1:port and parses its output."""
    cmd = ['dig', '@127.0.0.1', '-p', str(port), '+time=2', '+tries=2'] + list(args)
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=DIG_TIMEOUT_S, check=False)
    text = proc.stdout.decode('utf-8', 'replace')
    status, flags, size = None, set(), None
    sections = {'ANSWER': [], 'AUTHORITY': [], 'ADDITIONAL': []}
    current = None
    for line in text.splitlines():
        m = re.search(r'status: (\w+)', line)
        if line.startswith(';; ->>HEADER<<-') and m:
            status = m.group(1)
            continue
        if line.startswith(';; flags:'):
            flags = set(line.split(';')[2].split(':')[1].split())
            continue
        m = re.match(r';; MSG SIZE\s+rcvd: (\d+)', line)
        if m:
            size = int(m.group(1))
            continue
        m = re.match(r';; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:', line)
        if m:
            current = m.group(1)
            continue
        if not line.strip() or line.startswith(';'):
            if not line.strip():
                current = None
            continue
        if current:
            name, ttl, klass, rtype, rdata = line.split(None, 4)
            sections[current].append((name, int(ttl), klass, rtype, rdata.strip()))
    return Answer(status, flags, sections['ANSWER'], sections['AUTHORITY'],
                  sections['ADDITIONAL'], size, text)


def rdatas(records, rtype=None):
    return sorted(r[4] for r in records if rtype is None or r[3] == rtype)


def eventually(pred, timeout_s=10.0, step_s=0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)


WEB_ADDRS = ['127.0.10.%d' % i for i in range(1, 13)]


def populate(agent):
    for i, addr in enumerate(WEB_ADDRS, start=1):
        tags = ['primary', 'v1'] if i <= 3 else ['secondary']
        agent.register('web-%d' % i, 'web', 8000 + i, addr, tags)
    agent.register('db-ok', 'db', 5432, '127.0.20.1')
    agent.register('db-warn', 'db', 5432, '127.0.20.2', status='warning')
    agent.register('db-crit', 'db', 5432, '127.0.20.3', status='critical')
    agent.register('down-1', 'down', 1, '127.0.30.1', status='critical')
    agent.register('api-1', 'api', 9000)  # no Address: the node's, SRV target <node>.node.dc1
    agent.register('six-1', 'six', 6000, '::1')
    agent.register('ext-1', 'ext', 5432, 'db.example.internal')


class DigTest(unittest.TestCase):
    agent = None  # defaults: domain consul., warning included, no TC, TTL 0
    tuned = None  # -domain beacon.test -dns-only-passing -dns-enable-truncate -dns-service-ttl

    @classmethod
    def setUpClass(cls):
        if shutil.which('dig') is None:
            raise unittest.SkipTest('dig not installed (Debian dnsutils; scripts/install-deps.sh)')
        cls.agent = Agent(['-dev', '-http-port', '0', '-dns-port', '0', '-node', NODE])
        cls.tuned = Agent(['-dev', '-http-port', '0', '-dns-port', '0', '-node', NODE,
                           '-domain', 'beacon.test', '-dns-only-passing', '-dns-enable-truncate',
                           '-dns-service-ttl', 'web=30s', '-dns-service-ttl', 'd*=5s'])
        for a in (cls.agent, cls.tuned):
            populate(a)

    @classmethod
    def tearDownClass(cls):
        for a in (cls.agent, cls.tuned):
            if a is not None:
                rc = a.stop()
                sys.stderr.write('\nagent pid %d exit code %s\n%s\n' % (a.proc.pid, rc, a.tail()))

    def q(self, *args):
        return dig(self.agent.dns_port, *args)

    def assertStatus(self, ans, status):
        self.assertEqual(ans.status, status, ans.text)

    # -- service lookups ----------------------------------------------------------------------

    def test_agent_self_reports_the_bound_dns_port(self):
        # The agent was started with -dns-port 0 (any free port): agent/self must say which.
        url = 'http://127.0.0.1:%d/v1/agent/self' % self.agent.http_port
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
            self_info = json.loads(resp.read().decode())
        self.assertEqual(self_info['DebugConfig']['DNSPort'], self.agent.dns_port)
        self.assertNotEqual(self.agent.dns_port, 0)

    def test_service_a_records(self):
        ans = self.q('web.service.consul', 'A')
        self.assertStatus(ans, 'NOERROR')
        self.assertIn('aa', ans.flags)
        self.assertNotIn('ra', ans.flags)
        self.assertEqual(rdatas(ans.answer, 'A'), sorted(WEB_ADDRS))  # EDNS 1232: all fit
        for name, ttl, _, _, _ in ans.answer:
            self.assertEqual(name, 'web.service.consul.')
            self.assertEqual(ttl, 0)

    def test_names_match_case_insensitively_and_echo_the_question(self):
        ans = self.q('WEB.Service.CONSUL', 'A')
        self.assertStatus(ans, 'NOERROR')
        self.assertEqual({r[0] for r in ans.answer}, {'WEB.Service.CONSUL.'})
        self.assertEqual(len(ans.answer), 12)

    def test_service_with_datacenter(self):
        self.assertEqual(len(self.q('web.service.dc1.consul', 'A').answer), 12)
        self.assertStatus(self.q('web.service.dc2.consul', 'A'), 'NXDOMAIN')

    def test_service_srv_with_additional(self):
        ans = self.q('web.service.consul', 'SRV')
        self.assertStatus(ans, 'NOERROR')
        self.assertEqual(len(ans.answer), 12)
        targets = {}
        for _, _, _, rtype, rdata in ans.answer:
            self.assertEqual(rtype, 'SRV')
            prio, weight, port, target = rdata.split()
            self.assertEqual((prio, weight), ('1', '1'))
            targets[target] = int(port)
        expect = {'7f000a%02x.addr.dc1.consul.' % i: 8000 + i for i in range(1, 13)}
        self.assertEqual(targets, expect)
        glue = {r[0]: r[4] for r in ans.additional if r[3] == 'A'}
        self.assertEqual(glue, {'7f000a%02x.addr.dc1.consul.' % i: '127.0.10.%d' % i
                                for i in range(1, 13)})

    def test_rfc2782_forms(self):
        for name in ('_web._tcp.service.consul', '_web._tcp.consul', '_web._tcp.service.dc1.consul',
                     '_web._tcp.dc1.consul'):
            ans = self.q(name, 'SRV')
            self.assertStatus(ans, 'NOERROR')
            self.assertEqual(len(ans.answer), 12, name)
        primary = self.q('_web._primary.service.consul', 'SRV')
        self.assertEqual(sorted(int(r[4].split()[2]) for r in primary.answer), [8001, 8002, 8003])
        # Without `.service` only SRV questions are RFC 2782 lookups.
        self.assertStatus(self.q('_web._tcp.consul', 'A'), 'NXDOMAIN')

    def test_tag_filtering(self):
        ans = self.q('primary.web.service.consul', 'A')
        self.assertEqual(rdatas(ans.answer, 'A'), WEB_ADDRS[:3])
        ans = self.q('SECONDARY.web.service.consul', 'A')
        self.assertEqual(rdatas(ans.answer, 'A'), sorted(WEB_ADDRS[3:]))
        self.assertStatus(self.q('nosuchtag.web.service.consul', 'A'), 'NXDOMAIN')

    def test_srv_target_is_the_node_without_a_service_address(self):
        ans = self.q('api.service.consul', 'SRV')
        self.assertEqual(rdatas(ans.answer), ['1 1 9000 %s.node.dc1.consul.' % NODE])
        self.assertIn(('%s.node.dc1.consul.' % NODE, '127.0.0.1'),
                      [(r[0], r[4]) for r in ans.additional if r[3] == 'A'])
        self.assertEqual(rdatas(self.q('api.service.consul', 'A').answer), ['127.0.0.1'])

    def test_aaaa_and_nodata(self):
        ans = self.q('six.service.consul', 'AAAA')
        self.assertEqual(rdatas(ans.answer, 'AAAA'), ['::1'])
        srv = self.q('six.service.consul', 'SRV')
        self.assertEqual(rdatas(srv.answer), ['1 1 6000 00000000000000000000000000000001.addr.dc1.consul.'])
        self.assertEqual(rdatas(srv.additional, 'AAAA'), ['::1'])
        # A known name without the asked type: NOERROR, no answer, SOA in authority (NODATA).
        for name, rtype in (('web.service.consul', 'AAAA'), ('six.service.consul', 'A'),
                            ('web.service.consul', 'MX')):
            ans = self.q(name, rtype)
            self.assertStatus(ans, 'NOERROR')
            self.assertEqual(ans.answer, [])
            self.assertEqual([r[3] for r in ans.authority], ['SOA'], ans.text)

    def test_any(self):
        ans = self.q('web.service.consul', 'ANY')
        self.assertStatus(ans, 'NOERROR')
        self.assertEqual(rdatas(ans.answer, 'A'), sorted(WEB_ADDRS))

    def test_hostname_address_gives_cname(self):
        ans = self.q('ext.service.consul', 'A')
        self.assertEqual([(r[3], r[4]) for r in ans.answer], [('CNAME', 'db.example.internal.')])

    # -- health ---------------------------------------------------------------------------------

    def test_unhealthy_instances_are_excluded(self):
        ans = self.q('db.service.consul', 'A')
        self.assertEqual(rdatas(ans.answer), ['127.0.20.1', '127.0.20.2'])  # warning included
        srv = self.q('db.service.consul', 'SRV')
        self.assertEqual(len(srv.answer), 2)
        self.assertStatus(self.q('down.service.consul', 'A'), 'NXDOMAIN')

    def test_health_changes_show_up(self):
        self.agent.register('flap-1', 'flap', 1, '127.0.40.1')
        self.agent.register('flap-2', 'flap', 2, '127.0.40.2')
        self.assertTrue(eventually(lambda: len(self.q('flap.service.consul', 'A').answer) == 2))
        self.agent.put('/v1/agent/check/fail/service:flap-1')
        self.assertTrue(eventually(
            lambda: rdatas(self.q('flap.service.consul', 'A').answer) == ['127.0.40.2']))
        self.agent.put('/v1/agent/check/fail/service:flap-2')
        self.assertTrue(eventually(
            lambda: self.q('flap.service.consul', 'A').status == 'NXDOMAIN'))
        self.agent.put('/v1/agent/check/pass/service:flap-1')
        self.assertTrue(eventually(
            lambda: rdatas(self.q('flap.service.consul', 'A').answer) == ['127.0.40.1']))

    def test_only_passing_drops_warning(self):
        ans = dig(self.tuned.dns_port, 'db.service.beacon.test', 'A')
        self.assertEqual(rdatas(ans.answer), ['127.0.20.1'])

    # -- nodes, addr, apex ----------------------------------------------------------------------

    def test_node_lookups(self):
        for name in ('%s.node.consul' % NODE, '%s.node.dc1.consul' % NODE):
            ans = self.q(name, 'A')
            self.assertStatus(ans, 'NOERROR')
            self.assertEqual(rdatas(ans.answer, 'A'), ['127.0.0.1'])
        self.assertEqual(rdatas(self.q('%s.node.consul' % NODE, 'ANY').answer, 'A'), ['127.0.0.1'])
        txt = self.q('%s.node.consul' % NODE, 'TXT')  # the agent's node has no Meta: NODATA
        self.assertStatus(txt, 'NOERROR')
        self.assertEqual(txt.answer, [])
        self.assertEqual([r[3] for r in txt.authority], ['SOA'])
        self.assertStatus(self.q('%s.node.consul' % NODE, 'MX'), 'NOERROR')
        ans = self.q('nobody.node.consul', 'A')
        self.assertStatus(ans, 'NXDOMAIN')
        self.assertEqual([r[3] for r in ans.authority], ['SOA'])

    def test_addr_lookups(self):
        self.assertEqual(rdatas(self.q('7f000001.addr.consul', 'A').answer), ['127.0.0.1'])
        self.assertEqual(rdatas(self.q('7f000001.addr.dc1.consul', 'A').answer), ['127.0.0.1'])
        self.assertEqual(
            rdatas(self.q('00000000000000000000000000000001.addr.consul', 'AAAA').answer), ['::1'])
        self.assertStatus(self.q('7f00001.addr.consul', 'A'), 'NXDOMAIN')

    def test_apex_soa_and_ns(self):
        soa = self.q('consul', 'SOA')
        self.assertStatus(soa, 'NOERROR')
        self.assertEqual(len(soa.answer), 1)
        self.assertEqual(soa.answer[0][3], 'SOA')
        mname, rname, serial, refresh, retry, expire, minimum = soa.answer[0][4].split()
        self.assertEqual((mname, rname), ('ns.consul.', 'hostmaster.consul.'))
        self.assertLess(abs(int(serial) - time.time()), 600)
        self.assertEqual((refresh, retry, expire, minimum), ('3600', '600', '86400', '0'))
        self.assertEqual(rdatas(soa.authority, 'NS'), ['%s.node.dc1.consul.' % NODE])
        ns = self.q('consul', 'NS')
        self.assertEqual(rdatas(ns.answer, 'NS'), ['%s.node.dc1.consul.' % NODE])
        self.assertEqual(rdatas(ns.additional, 'A'), ['127.0.0.1'])

    # -- negative answers -----------------------------------------------------------------------

    def test_nxdomain_noerror_refused(self):
        nx = self.q('nosuch.service.consul', 'A')
        self.assertStatus(nx, 'NXDOMAIN')
        self.assertIn('aa', nx.flags)
        self.assertEqual([r[3] for r in nx.authority], ['SOA'])
        self.assertEqual(nx.authority[0][0], 'consul.')
        for name in ('web.query.consul', 'web.connect.consul', 'garbage.consul'):
            self.assertStatus(self.q(name, 'A'), 'NXDOMAIN')
        refused = self.q('example.com', 'A')
        self.assertStatus(refused, 'REFUSED')
        self.assertEqual(refused.answer, [])
        self.assertStatus(self.q('-c', 'CH', 'version.bind', 'TXT'), 'REFUSED')

    def test_axfr_is_not_implemented(self):
        ans = self.q('consul', 'AXFR')
        self.assertIn('Transfer failed', ans.text)

    def test_malformed_query_gets_formerr_and_server_keeps_serving(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(3)
        try:
            # Header for one question, then a label that runs past the end.
            sock.sendto(struct.pack('>HHHHHH', 0xabcd, 0x0100, 1, 0, 0, 0) + b'\x05ab',
                        ('127.0.0.1', self.agent.dns_port))
            reply, _ = sock.recvfrom(4096)
            rid, flags = struct.unpack('>HH', reply[:4])
            self.assertEqual(rid, 0xabcd)
            self.assertEqual(flags & 0xf, 1, 'FORMERR')
            self.assertTrue(flags & 0x8000, 'QR')
            for size in range(0, 40):  # garbage of every small size: no reply needed, no crash
                sock.sendto(os.urandom(size), ('127.0.0.1', self.agent.dns_port))
        finally:
            sock.close()
        self.assertStatus(self.q('web.service.consul', 'A'), 'NOERROR')

    # -- size rules -------------------------------------------------------------------------------

    def test_plain_udp_gets_three_answers_without_tc(self):
        for rtype in ('A', 'SRV'):
            ans = self.q('web.service.consul', rtype, '+noedns', '+ignore')
            self.assertStatus(ans, 'NOERROR')
            self.assertEqual(len(ans.answer), 3, ans.text)
            self.assertNotIn('tc', ans.flags)
            self.assertLessEqual(ans.size, 512)
        srv = self.q('web.service.consul', 'SRV', '+noedns')
        self.assertEqual(sorted(r[0] for r in srv.additional),
                         sorted(r[4].split()[3] for r in srv.answer),
                         'additional records follow the kept answers')

    def test_edns_buffer_size(self):
        ans = self.q('web.service.consul', 'SRV', '+bufsize=4096')
        self.assertEqual(len(ans.answer), 12)
        self.assertIn('udp: 4096', ans.text, 'the OPT record carries the same size')
        small = self.q('web.service.consul', 'SRV', '+bufsize=512')
        self.assertEqual(len(small.answer), 3)

    def test_tcp_gives_the_full_answer(self):
        ans = self.q('web.service.consul', 'SRV', '+tcp', '+noedns')
        self.assertStatus(ans, 'NOERROR')
        self.assertEqual(len(ans.answer), 12)
        self.assertEqual(len([r for r in ans.additional if r[3] == 'A']), 12)

    def test_enable_truncate_sets_tc_and_dig_retries_over_tcp(self):
        cut = dig(self.tuned.dns_port, 'web.service.beacon.test', 'A', '+noedns', '+ignore')
        self.assertIn('tc', cut.flags, cut.text)
        self.assertEqual(len(cut.answer), 3)
        full = dig(self.tuned.dns_port, 'web.service.beacon.test', 'A', '+noedns')
        self.assertNotIn('tc', full.flags)
        self.assertEqual(len(full.answer), 12, full.text)

    def test_answers_are_shuffled(self):
        orders = set()
        for _ in range(12):
            ans = self.q('web.service.consul', 'A', '+noedns')
            orders.add(tuple(r[4] for r in ans.answer))
        self.assertGreater(len(orders), 1, 'the same three answers in the same order every time')

    # -- configuration ----------------------------------------------------------------------------

    def test_configured_domain_and_ttls(self):
        port = self.tuned.dns_port
        ans = dig(port, 'web.service.beacon.test', 'SRV', '+bufsize=4096')
        self.assertStatus(ans, 'NOERROR')
        self.assertEqual({r[1] for r in ans.answer}, {30})
        self.assertTrue(all(r[4].endswith('.addr.dc1.beacon.test.') for r in ans.answer))
        self.assertEqual({r[1] for r in dig(port, 'db.service.beacon.test', 'A').answer}, {5})
        self.assertEqual({r[1] for r in dig(port, 'api.service.beacon.test', 'A').answer}, {0})
        self.assertStatus(dig(port, 'web.service.consul', 'A'), 'REFUSED')
        soa = dig(port, 'beacon.test', 'SOA')
        self.assertTrue(soa.answer[0][4].startswith('ns.beacon.test. hostmaster.beacon.test. '))


def main():
    global BINARY  # pylint: disable=global-statement
    if len(sys.argv) < 2:
        sys.stderr.write('usage: %s <path-to-beacon-binary> [unittest args...]\n' % sys.argv[0])
        return 2
    BINARY = os.path.abspath(sys.argv[1])
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        sys.stderr.write('dns_dig_test: beacon binary not found or not executable: %s\n' % BINARY)
        return 1
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2, exit=False)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
