"""Cluster mode (issue #9): three Beacon agents sharing one catalog in a real 3-member etcd cluster.

Usage: python3 cluster_test.py <path to beacon binary>

Checks, each with a bounded wait:
  - a registration on one agent is visible on the others, and wakes a blocking query parked there;
  - X-Consul-Index agrees across agents; status/leader and status/peers agree; ?consistent works;
  - killing one etcd member changes nothing for clients (reads and writes go on);
  - kill -9 of the etcd leader during a stream of registrations on all agents loses no
    acknowledged registration;
  - kill -9 of an agent turns its node's serfHealth critical on the others within the lease TTL
    plus slack (its services leave ?passing), and a restart brings it back.
"""
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'testutil'))
from beacon_agent import Agent  # noqa: E402
from etcd_procs import EtcdCluster  # noqa: E402

BEACON = sys.argv[1]
LEASE_TTL_S = 3
SLACK_S = 7  # detection: lease TTL + one renewal tick + the leader's scan tick + scheduling


def http(agent, method, path, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (agent.port, path), data=data,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read().decode()
            return r.status, dict(r.headers), (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def get(agent, path, **kw):
    return http(agent, 'GET', path, **kw)


def put(agent, path, body=None, **kw):
    return http(agent, 'PUT', path, body, **kw)


def eventually(pred, timeout_s, what):
    deadline = time.time() + timeout_s
    while True:
        try:
            if pred():
                return time.time()
        except (OSError, urllib.error.URLError):
            pass
        if time.time() > deadline:
            raise AssertionError('not within %.1f s: %s' % (timeout_s, what))
        time.sleep(0.05)


def start_agent(etcd, node):
    return Agent(BEACON, ['-store', 'etcd', '-etcd-endpoints', ','.join(etcd.endpoints()),
                          '-etcd-lease-ttl', '%ds' % LEASE_TTL_S, '-node', node,
                          '-http-port', '0', '-dns-port', '-1', '-log-level', 'info'])


def ids(agent, service, passing=False):
    q = '?passing' if passing else ''
    code, _, body = get(agent, '/v1/health/service/%s%s' % (service, q))
    assert code == 200, (code, body)
    return sorted(e['Service']['ID'] for e in body)


def serf(agent, node):
    code, _, body = get(agent, '/v1/health/node/%s' % node)
    assert code == 200, (code, body)
    for c in body:
        if c['CheckID'] == 'serfHealth':
            return c['Status']
    return None


def test_visible_everywhere_and_wakes_watchers(agents):
    a1, a2, a3 = agents
    code, hdr, _ = get(a3, '/v1/health/service/web')
    assert code == 200
    index = int(hdr['X-Consul-Index'])
    woke = {}

    def watch():
        c, h, b = get(a3, '/v1/health/service/web?index=%d&wait=30s' % index, timeout=40)
        woke['at'] = time.time()
        woke['body'] = b
        woke['index'] = int(h['X-Consul-Index'])

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(0.3)  # let it park
    code, _, body = put(a1, '/v1/agent/service/register', {'Name': 'web', 'ID': 'web1', 'Port': 80})
    assert code == 200, (code, body)
    acked = time.time()
    t.join(timeout=35)
    assert not t.is_alive(), 'blocking query on agent 3 never returned'
    assert [e['Service']['ID'] for e in woke['body']] == ['web1'], woke
    print('  blocking query on agent 3 answered %.0f ms after agent 1 acknowledged'
          % (max(0.0, woke['at'] - acked) * 1000))
    assert woke['at'] - acked < 2.0
    for a in (a2, a3):
        eventually(lambda a=a: ids(a, 'web') == ['web1'], 5, 'web1 on every agent')
    indexes = {int(get(a, '/v1/health/service/web')[1]['X-Consul-Index']) for a in agents}
    assert len(indexes) == 1, 'X-Consul-Index differs between agents: %s' % indexes
    assert woke['index'] in indexes


def test_status_and_consistent(agents):
    def leaders():
        return {get(a, '/v1/status/leader')[2] for a in agents}
    ports = sorted('127.0.0.1:%d' % a.port for a in agents)
    eventually(lambda: len(leaders()) == 1 and leaders() <= set(ports), 10,
               'one leader, an agent, the same everywhere')
    leader = leaders().pop()
    eventually(lambda: all(sorted(get(a, '/v1/status/peers')[2]) == ports for a in agents), 10,
               'status/peers lists the three agents')
    assert leader in ports, (leader, ports)
    code, hdr, body = get(agents[2], '/v1/catalog/service/web?consistent')
    assert code == 200 and [e['ServiceID'] for e in body] == ['web1'], (code, body)
    assert hdr['X-Consul-KnownLeader'] == 'true'
    assert hdr['X-Consul-Effective-Consistency'] == 'consistent'
    code, hdr, _ = get(agents[1], '/v1/catalog/service/web')
    assert int(hdr['X-Consul-LastContact']) < 5000, hdr


def test_one_etcd_member_down(etcd, agents):
    victim = (etcd.leader_index() + 1) % etcd.size  # a follower
    etcd.kill9(victim)
    try:
        for i, a in enumerate(agents):
            code, _, body = put(a, '/v1/agent/service/register',
                                {'Name': 'during-outage', 'ID': 'o%d' % i})
            assert code == 200, (code, body)
        for a in agents:
            eventually(lambda a=a: ids(a, 'during-outage') == ['o0', 'o1', 'o2'], 10,
                       'writes made with one etcd member down, seen everywhere')
    finally:
        etcd.start(victim)
        etcd.wait_healthy([victim])


def test_etcd_leader_killed_during_writes(etcd, agents):
    acked = []
    errors = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(i, a):
        n = 0
        while not stop.is_set() and n < 2000:
            sid = 's%d-%d' % (i, n)
            n += 1
            try:
                code, _, body = put(a, '/v1/agent/service/register',
                                    {'Name': 'stream', 'ID': sid}, timeout=30)
            except OSError as e:
                with lock:
                    errors.append(str(e))
                continue
            with lock:
                (acked if code == 200 else errors).append(sid if code == 200 else (code, body))

    threads = [threading.Thread(target=writer, args=(i, a)) for i, a in enumerate(agents)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    leader = etcd.leader_index()
    etcd.kill9(leader)
    killed_at = len(acked)
    # Writes in flight when the leader died may fail (503, outcome unknown); new ones must go
    # through once the remaining members elected a new leader.
    deadline = time.time() + 30
    while time.time() < deadline and len(acked) < killed_at + 60:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    print('  %d registrations acknowledged (%d before the etcd leader was killed), %d errors: %s'
          % (len(acked), killed_at, len(errors), errors[:3]))
    assert len(acked) > killed_at, 'no write succeeded after the etcd leader was killed'
    want = sorted(acked)
    for a in agents:
        eventually(lambda a=a: set(want) <= set(ids(a, 'stream')), 15,
                   'every acknowledged registration on every agent')
    etcd.start(leader)
    etcd.wait_healthy([leader])


def test_agent_killed_goes_critical_and_comes_back(etcd, agents):
    a1, a2, a3 = agents
    code, _, body = put(a2, '/v1/agent/service/register', {'Name': 'api', 'ID': 'api2'})
    assert code == 200, (code, body)
    eventually(lambda: ids(a1, 'api', passing=True) == ['api2'], 5, 'api2 passing on agent 1')
    assert serf(a1, 'a2') == 'passing'
    a2.kill9()
    killed = time.time()
    eventually(lambda: serf(a1, 'a2') == 'critical', LEASE_TTL_S + SLACK_S,
               "a2's serfHealth critical on agent 1")
    print('  agent a2 seen critical %.1f s after kill -9 (lease TTL %d s)'
          % (time.time() - killed, LEASE_TTL_S))
    eventually(lambda: ids(a3, 'api', passing=True) == [], 5, 'api2 out of ?passing on agent 3')
    assert ids(a3, 'api') == ['api2'], 'the service stays registered (Consul semantics)'
    back = start_agent(etcd, 'a2')
    agents[1] = back
    eventually(lambda: serf(a1, 'a2') == 'passing', 10, 'a2 passing again after its restart')
    eventually(lambda: ids(a3, 'api', passing=True) == ['api2'], 5, 'api2 back in ?passing')


def test_reconnect_after_compaction(etcd, agents):
    """An agent whose etcd member was down while others wrote and etcd compacted its history
    reloads the catalog when its watch comes back, instead of missing what happened."""
    member = (etcd.leader_index() + 1) % etcd.size  # a follower
    lonely = Agent(BEACON, ['-store', 'etcd', '-etcd-endpoints', etcd.endpoints([member])[0],
                            '-etcd-lease-ttl', '30s', '-node', 'lonely', '-http-port', '0',
                            '-dns-port', '-1'])
    try:
        code, _, _ = put(agents[0], '/v1/agent/service/register', {'Name': 'compact', 'ID': 'c-before'})
        assert code == 200
        eventually(lambda: ids(lonely, 'compact') == ['c-before'], 5, 'lonely agent in sync')
        etcd.kill9(member)
        for sid in ('c1', 'c2', 'c3'):
            code, _, body = put(agents[0], '/v1/agent/service/register', {'Name': 'compact', 'ID': sid})
            assert code == 200, (code, body)
        code, _, _ = put(agents[0], '/v1/agent/service/deregister/c-before')
        assert code == 200
        other = (member + 1) % etcd.size
        rev = int(etcd.status(other)['header']['revision'])
        etcd.call(other, '/v3/kv/compaction', {'revision': str(rev), 'physical': True})
        assert ids(lonely, 'compact') == ['c-before'], 'lonely agent cannot have seen the changes'
        etcd.start(member)
        etcd.wait_healthy([member])
        eventually(lambda: ids(lonely, 'compact') == ['c1', 'c2', 'c3'], 20,
                   'the lonely agent reloaded after the compaction')
        want = int(get(agents[0], '/v1/health/service/compact')[1]['X-Consul-Index'])
        eventually(lambda: int(get(lonely, '/v1/health/service/compact')[1]['X-Consul-Index']) >= want,
                   5, 'its index caught up')
        assert any('compacted' in line for line in lonely.output), lonely.tail(20)
    finally:
        lonely.stop()


def main():
    etcd = EtcdCluster(3)
    agents = []
    ok = False
    try:
        agents = [start_agent(etcd, 'a%d' % (i + 1)) for i in range(3)]
        for name, fn in [
            ('visible everywhere, wakes watchers', lambda: test_visible_everywhere_and_wakes_watchers(agents)),
            ('status and consistent reads', lambda: test_status_and_consistent(agents)),
            ('one etcd member down', lambda: test_one_etcd_member_down(etcd, agents)),
            ('etcd leader killed during writes', lambda: test_etcd_leader_killed_during_writes(etcd, agents)),
            ('agent killed goes critical and comes back', lambda: test_agent_killed_goes_critical_and_comes_back(etcd, agents)),
            ('reconnect after compaction reloads', lambda: test_reconnect_after_compaction(etcd, agents)),
        ]:
            t0 = time.time()
            fn()
            print('ok  %s (%.1f s)' % (name, time.time() - t0))
        ok = True
    finally:
        for a in agents:
            if not ok:
                print(a.tail(40))
            a.stop()
        if not ok:
            for i in range(etcd.size):
                print('--- etcd m%d ---\n%s' % (i, etcd.log_tail(i, 15)))
        etcd.close()
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
