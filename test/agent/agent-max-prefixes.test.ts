// Issue 13 B: a BGPPeer's spec.maxPrefixes reaches the speaker (peersFor once dropped it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Agent } from '../../src/agent/agent.js';
import { KubeClient, Transport } from '../../src/k8s/index.js';
import { TestApiServer } from '../../src/lab/apiserver/index.js';
import { waitFor } from '../../src/lab/netns.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

test('the agent gives the speaker a BGPPeer\'s maxPrefixes as the limit of each family', { timeout: 60_000 }, async (t) => {
  const server = new TestApiServer({ host: '127.0.0.1', port: 0, tokens: ['t0k'] });
  await server.start();
  t.after(() => server.stop());
  for (const f of ['bgpconfigurations', 'bgppeers', 'ippools']) server.create(parse(readFileSync(`deploy/base/crds/${f}.petrel.dev.yaml`, 'utf8')));
  server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDRs: ['198.18.1.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { listenPort: 20000 + Math.floor(Math.random() * 20000) } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '198.18.0.0/16' } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '198.51.100.1', asNumber: 65001, maxPrefixes: 1500 } });
  const client = new KubeClient(new Transport({ server: server.url, token: 't0k', source: 'test' }, {}));
  const agent = new Agent(
    { nodeName: 'n1', mode: 'agent', bgpListenAddress: '127.0.0.1', connectRetryTime: 5, readyGraceMs: 0, vxlanVni: 4096 },
    { client, log: silent, interfaces: () => [{ name: 'eth0', address: '192.0.2.11', cidr: '192.0.2.11/24' }] },
  );
  t.after(() => agent.stop());
  await agent.start();
  await agent.synced();
  const tor = await waitFor('the peer starts', () => agent.bgp?.status().peers.find((p) => p.address === '198.51.100.1'), 30_000, 50);
  assert.deepEqual(tor.maxPrefixes, { ipv4: 1500, ipv6: 1500, warningPercent: null, restartAfterSeconds: null });
  assert.match(tor.info, /prefixes ipv4 0\/1500, ipv6 0\/1500/);
});
