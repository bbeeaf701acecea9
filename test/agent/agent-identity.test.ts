// The agent publishes its own node's annotations and starts a password-protected peer once its Secret resolves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Agent } from '../../src/agent/agent.js';
import { KubeClient, Transport } from '../../src/k8s/index.js';
import { TestApiServer } from '../../src/lab/apiserver/index.js';
import { waitFor } from '../../src/lab/netns.js';
import { vtepMac } from '../../src/dataplane/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

test('the agent writes its BGP address in CIDR form and its VTEP, and starts a TCP-MD5 peer once the Secret is read', async (t) => {
  const server = new TestApiServer({ host: '127.0.0.1', port: 0, tokens: ['t0k'] });
  await server.start();
  t.after(() => server.stop());
  for (const f of ['bgpconfigurations', 'bgppeers', 'ippools']) server.create(parse(readFileSync(`deploy/base/crds/${f}.petrel.dev.yaml`, 'utf8')));
  server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'petrel-system' } });
  server.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDRs: ['198.18.1.0/26'] }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { listenPort: 20000 + Math.floor(Math.random() * 20000) } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '198.18.0.0/16', vxlanMode: 'CrossSubnet' } });
  server.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: '198.51.100.1', asNumber: 65001, password: { secretKeyRef: { name: 'petrel-bgp-passwords', key: 'tor' } } } });
  const client = new KubeClient(new Transport({ server: server.url, token: 't0k', source: 'test' }, {}));
  const agent = new Agent(
    { nodeName: 'n1', mode: 'agent', bgpListenAddress: '127.0.0.1', connectRetryTime: 5, readyGraceMs: 0, vxlanVni: 4096 },
    { client, log: silent, interfaces: () => [{ name: 'eth0', address: '192.0.2.11', cidr: '192.0.2.11/24' }] },
  );
  t.after(() => agent.stop());
  await agent.start();
  await agent.synced();
  await waitFor('annotations written', () => {
    const a = server.list('v1', 'Node')[0]?.metadata?.annotations ?? {};
    return a['petrel.dev/bgp-ipv4-address'] === '192.0.2.11/24' && a['petrel.dev/vxlan-tunnel-mac'] === vtepMac('n1') && a['petrel.dev/vxlan-tunnel-address'] === '198.18.1.0';
  }, 10_000, 20);
  await waitFor('the echo reached the topology', () => agent.status().topology !== undefined, 10_000, 20);
  assert.ok(agent.status().problems.some((p) => p.kind === 'BGPPeer' && /password Secret|not found/.test(p.message)), JSON.stringify(agent.status().problems));
  assert.ok(!agent.bgp?.status().peers.some((p) => p.address === '198.51.100.1'));
  server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'petrel-bgp-passwords', namespace: 'petrel-system' }, data: { tor: Buffer.from('s3cret').toString('base64') } });
  await waitFor('the peer starts', () => agent.bgp?.status().peers.some((p) => p.address === '198.51.100.1') ?? false, 30_000, 50);
});
