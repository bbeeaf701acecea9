/**
 * Faults in the lab (issue 5, "done when" 3): the API server gone for 30 s, a reflector replica
 * killed, an agent restarted. One lab for the whole file; each test leaves it converged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PetrelLab } from '../../src/lab/lab.js';
import { waitFor } from '../../src/lab/netns.js';
import { metricsOf, metricValue, skipReason, startLab, waitPing, waitRoute } from './helpers.js';

const PREFIX = 'ptlf';

async function allPingsAnswer(lab: PetrelLab): Promise<void> {
  const m = await lab.pingMatrix();
  assert.deepEqual(m.rows.filter((r) => !r.ok), [], lab.renderMatrix(m.rows));
}

function podOn(lab: PetrelLab, node: string) {
  return lab.pods.find((p) => p.node === node)!;
}

describe('lab faults', { skip: skipReason }, () => {
  let lab: PetrelLab;
  before(async () => { lab = await startLab(PREFIX); });
  after(async () => { await lab?.destroy(); });

  it('keeps routes and traffic while the API server is down for 30 s, then resyncs and serves a new pod', async () => {
    // Traffic must flow before the outage for "keeps flowing" to mean anything: routes can be in the
    // kernel a moment before the VXLAN neighbour/FDB entries of the same pass.
    await waitPing(lab, podOn(lab, 'n1').ns, podOn(lab, 'n3').ip);
    await lab.api.stop();
    try {
      const until = Date.now() + 30_000;
      let rounds = 0;
      while (Date.now() < until && rounds < 100) {
        assert.deepEqual(await lab.missingBlockRoutes(), []);
        assert.ok(await lab.ping(podOn(lab, 'n1').ns, podOn(lab, 'n3').ip), 'n1 → n3 pod during the outage');
        for (const n of lab.nodes.values()) assert.equal(n.proc!.child.exitCode, null, `${n.name} exited during the outage`);
        rounds++;
        await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, until - Date.now()))));
      }
      const errorsDuring = metricValue(await metricsOf(lab, 'n1'), 'petrel_k8s_watch_errors_total');
      assert.ok(errorsDuring > 0, 'the agent noticed the outage');
      await allPingsAnswer(lab);
    } finally {
      // Whatever failed above, the later tests need the API server back.
      await lab.api.start();
    }
    // The agents reconnect and resync: a pod created after the restart becomes reachable across subnets.
    const pod = await lab.addPod('n1', 'afterapi');
    await waitRoute(lab, 'n1', pod.ip, true, 60_000);
    await waitPing(lab, podOn(lab, 'n3').ns, pod.ip);
    for (const n of lab.nodes.values()) {
      await waitFor(`${n.name} caches synced again`, async () => {
        const t = await metricsOf(lab, n.name);
        return ['nodes', 'bgpconfigurations', 'bgppeers', 'ippools'].every((r) => metricValue(t, 'petrel_k8s_cache_synced', { resource: r }) === 1);
      }, 30_000, 250);
    }
  });

  it('keeps traffic flowing through the other reflector when one replica is killed', async () => {
    await lab.stopNode('rr1', 'kill');
    for (const n of ['n1', 'n2', 'n3']) {
      await waitFor(`${n} to see rr1 down`, async () => {
        const s = await lab.status(n);
        return (s.peers as Array<{ address: string; state: string }>).some((p) => p.address === '192.0.2.21' && p.state !== 'Established');
      }, 30_000, 200);
    }
    assert.deepEqual(await lab.missingBlockRoutes(), []);
    await allPingsAnswer(lab);
    // New routes still propagate, through rr2 alone.
    const pod = await lab.addPod('n2', 'afterrr');
    await waitPing(lab, podOn(lab, 'n3').ns, pod.ip);
    lab.startNode('rr1');
    await lab.waitConverged(60_000);
  });

  it('brings a restarted agent back to convergence, its kernel routes kept meanwhile', async () => {
    const before = (await lab.routes('n3')).map((r) => r.dst as string).sort();
    await lab.stopNode('n3');
    assert.notEqual(lab.node('n3').proc!.child.exitCode, undefined);
    // A stopped agent leaves its kernel routes in place (its peers, told by a Cease, do drop its block).
    assert.deepEqual((await lab.routes('n3')).map((r) => r.dst as string).sort(), before, lab.readLog('n3', 6000));
    lab.startNode('n3');
    await lab.waitConverged(60_000);
    const pod = await lab.addPod('n3', 'afterrestart');
    await waitPing(lab, podOn(lab, 'n1').ns, pod.ip);
    await allPingsAnswer(lab);
  });
});
