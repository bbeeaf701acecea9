// Three `petrel speaker` processes (the built dist/cli.js) in network namespaces on one L2 segment:
// a route reflector and two clients, one peering over IPv4 and one over IPv6, each carrying IPv4 and
// IPv6 routes, next hops of the other family found on the session's interface. Checked through `petrel routes --json` and `petrel status --json` run in each
// namespace: reflection with ORIGINATOR_ID/CLUSTER_LIST and unchanged next hops, then a client's
// SIGTERM (Cease, exit 0) withdrawing its routes everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, isRoot, waitFor } from '../../src/lab/netns.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ensureBuilt } from './helpers.js';

interface Row { prefix: string; nextHop: string; asPath: number[]; originatorId: string | null; clusterList: string[]; peer: string; best: boolean }

test('a route reflector and two clients exchange IPv4 and IPv6 routes as three petrel speaker processes', { skip: isRoot() ? false : 'needs root for network namespaces' }, async () => {
  ensureBuilt();
  const lab = new NetnsLab();
  const dir = mkdtempSync(join(tmpdir(), 'petrel-lab-'));
  try {
    const sw = lab.addNs('sw');
    lab.bridge(sw, 'br0');
    const nodes = { rr: 1, c1: 11, c2: 12 } as const;
    const ns: Record<string, string> = {};
    for (const [name, n] of Object.entries(nodes)) {
      ns[name] = lab.addNs(name);
      lab.veth(ns[name], 'eth0', sw, `p-${name}`);
      lab.attach(sw, `p-${name}`, 'br0');
      lab.addr(ns[name], 'eth0', `198.51.100.${n}/24`);
      lab.addr(ns[name], 'eth0', `2001:db8:100::${n}/64`);
    }
    const common = ['asn: 64512', 'holdTime: 9', 'connectRetryTime: 1', 'idleHoldTime: 1', 'http: { address: 127.0.0.1, port: 9179 }'];
    const conf = (name: string, lines: string[]) => {
      const f = join(dir, `${name}.yaml`);
      writeFileSync(f, [...common, ...lines].join('\n'));
      return f;
    };
    const files = {
      rr: conf('rr', [
        'routerId: 198.51.100.1', 'clusterId: 203.0.113.1', 'listen: { address: "::", port: 179 }',
        'peers:',
        '  - { address: 198.51.100.11, asn: 64512, rrClient: true, passive: true }',
        '  - { address: "2001:db8:100::12", asn: 64512, rrClient: true, passive: true }',
      ]),
      c1: conf('c1', [
        'routerId: 198.51.100.11',
        'peers: [{ address: 198.51.100.1, asn: 64512 }]',
        'originate: [198.18.1.0/24, "2001:db8:1::/48"]',
      ]),
      c2: conf('c2', [
        'routerId: 198.51.100.21',
        'peers: [{ address: "2001:db8:100::1", asn: 64512 }]',
        'originate: [198.18.2.0/24, "2001:db8:2::/48"]',
      ]),
    };
    const procs = Object.fromEntries(Object.entries(files).map(([name, f]) => [name, lab.spawn(name, ns[name], process.execPath, [CLI, 'speaker', '--config', f])]));
    const cli = (name: string, ...args: string[]) => lab.exec(ns[name], process.execPath, [CLI, ...args, '--api', 'http://127.0.0.1:9179']);
    const routes = (name: string): Row[] => JSON.parse(cli(name, 'routes', '--json')).routes;
    const best = (name: string, prefix: string) => routes(name).find((r) => r.prefix === prefix && r.best);

    try {
      await waitFor('c2 to hold c1\'s routes', () => best('c2', '198.18.1.0/24') && best('c2', '2001:db8:1::/48'), 30_000, 250);
      await waitFor('c1 to hold c2\'s routes', () => best('c1', '198.18.2.0/24') && best('c1', '2001:db8:2::/48'), 30_000, 250);
    } catch (e) {
      for (const p of Object.values(procs)) console.log(`--- ${p.name}\n${p.output().slice(-3000)}`);
      throw e;
    }
    const a = best('c2', '198.18.1.0/24')!;
    assert.equal(a.nextHop, '198.51.100.11', 'reflected: next hop unchanged');
    assert.equal(a.originatorId, '198.51.100.11');
    assert.deepEqual(a.clusterList, ['203.0.113.1']);
    assert.deepEqual(a.asPath, []);
    assert.equal(a.peer, '2001:db8:100::1');
    // c1 talks IPv4 to the RR, c2 IPv6: each takes its next hop of the other family from the
    // interface that holds its end of the session (c2's router id is deliberately not an address).
    assert.equal(best('c2', '2001:db8:1::/48')!.nextHop, '2001:db8:100::11');
    assert.equal(best('c1', '198.18.2.0/24')!.nextHop, '198.51.100.12');
    assert.equal(best('c1', '2001:db8:2::/48')!.nextHop, '2001:db8:100::12', 'c2 talks IPv6: its own address');

    const st = JSON.parse(cli('rr', 'status', '--json'));
    assert.equal(st.clusterId, '203.0.113.1');
    for (const p of st.peers) {
      assert.equal(p.state, 'Established', JSON.stringify(p));
      assert.equal(p.received, 2);
      assert.equal(p.advertised, 2);
      assert.equal(p.type, 'iBGP rr-client');
    }
    assert.equal(st.rib.prefixes, 4);

    // c1 is stopped: Cease to the RR, exit 0; its routes vanish from c2.
    process.kill(procs.c1.pid, 'SIGTERM');
    assert.equal(await procs.c1.exited, 0);
    await waitFor('c2 to lose c1\'s routes', () => !best('c2', '198.18.1.0/24') && !best('c2', '2001:db8:1::/48'), 15_000, 250);
    const rrPeer = JSON.parse(cli('rr', 'status', '--json')).peers.find((p: { address: string }) => p.address === '198.51.100.11');
    assert.notEqual(rrPeer.state, 'Established');
    assert.match(rrPeer.info, /NOTIFICATION received 6\/2 .*SIGTERM/);
  } finally {
    await lab.destroy();
  }
});
