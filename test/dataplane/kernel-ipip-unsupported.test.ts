// On a kernel without the ipip module (this machine's), asking for IPIP must give a clear error,
// a status flag and a metric — not a crash — while everything else is still programmed. Runs
// against the real kernel's answer (EOPNOTSUPP); skipped where ipip exists (the microVM covers that).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, isRoot, uniquePrefix } from '../../src/lab/netns.js';
import { createDataplane, type DataplaneMetrics } from '../../src/dataplane/index.js';

test('a kernel without ipip yields DP_ERR_IPIP_UNSUPPORTED, status and metric, and the other routes still go in', { skip: isRoot() ? false : 'needs root' }, async (t) => {
  process.env.PETREL_REQUIRE_NETNS = '1';
  const lab = new NetnsLab(uniquePrefix('ptdpi'));
  try {
    const ns = lab.addNs('n');
    lab.veth(ns, 'eth0', ns, 'peer0');
    lab.addr(ns, 'eth0', '192.0.2.11/24');
    if (lab.tryExec(ns, 'ip', ['link', 'add', 'probe0', 'type', 'ipip']).status === 0) {
      t.skip('this kernel has ipip');
      return;
    }
    const flags: boolean[] = [];
    const errors: string[] = [];
    const metrics: DataplaneMetrics = { routes() {}, applyLatency() {}, driftRepair() {}, resync() {}, error: (c) => errors.push(c), ipipUnsupported: (f) => flags.push(f) };
    const dp = createDataplane({ netns: ns, uplink: 'eth0', metrics });
    dp.setTunnels({ ipip: { address: '198.18.1.1' } });
    dp.setRemoteBlocks([
      { prefix: '198.18.3.0/26', node: 'n3', nextHop: '203.0.113.13', mode: 'ipip' },
      { prefix: '198.18.2.0/26', node: 'n2', nextHop: '192.0.2.12', mode: 'direct' },
    ]);
    const rep = await dp.start();
    assert.equal(rep.ok, false);
    assert.deepEqual(rep.issues.map((i) => i.code), ['DP_ERR_IPIP_UNSUPPORTED']);
    assert.match(rep.issues[0].message, /ipip module/);
    assert.deepEqual(rep.pending, ['198.18.3.0/26']);
    assert.equal(dp.status().ipip.supported, false);
    assert.deepEqual(flags, [true]);
    assert.ok(errors.includes('DP_ERR_IPIP_UNSUPPORTED'));
    assert.match(lab.ip(ns, 'route', 'show', 'proto', '97'), /198\.18\.2\.0\/26 via 192\.0\.2\.12 dev eth0/);
    // A second pass still reports it, without sending the refused request again (that waits for the next resync).
    const again = await dp.apply();
    assert.deepEqual(again.issues.map((i) => i.code), ['DP_ERR_IPIP_UNSUPPORTED']);
    assert.deepEqual(flags, [true]);
    assert.equal(dp.status().running, true);
    await dp.stop();
  } finally {
    await lab.destroy();
  }
});
