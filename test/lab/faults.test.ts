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

  it('restarts an agent gracefully (RFC 4724): no node deletes a route, traffic keeps flowing, and a new pod works after', async () => {
    const r = await restartWatched(lab, 'n3');
    console.log(`# graceful restart of n3: ${r.deleted.length} route deletions in the agents' kernels, ${r.pingsFailed}/${r.pings} pings failed, ${r.ms} ms from stop to convergence`);
    assert.deepEqual(r.deleted, [], 'no Petrel route deleted anywhere between the stop and reconvergence');
    assert.equal(r.pingsFailed, 0, 'n1 ↔ n3 pods answered throughout');
    const pod = await lab.addPod('n3', 'afterrestart');
    await waitPing(lab, podOn(lab, 'n1').ns, pod.ip);
    await allPingsAnswer(lab);
  });

  it('with graceful restart disabled, the same restart withdraws the node\'s block from its peers (the old behaviour)', async () => {
    await setGracefulRestart(lab, false);
    try {
      const r = await restartWatched(lab, 'n3');
      console.log(`# restart of n3 without graceful restart: ${r.deleted.length} route deletions (${[...new Set(r.deleted.map((d) => d.split(':')[0]))].join(', ')}), ${r.pingsFailed}/${r.pings} pings failed`);
      const block = lab.node('n3').block!;
      assert.ok(r.deleted.some((d) => d.startsWith('n1:') && d.includes(block)), `n1 deleted n3's block ${block}: ${r.deleted.join('; ')}`);
    } finally {
      await setGracefulRestart(lab, true);
    }
  });
});

/** Patches BGPConfiguration spec.gracefulRestart.enabled and waits for the lab to converge again. */
async function setGracefulRestart(lab: PetrelLab, enabled: boolean): Promise<void> {
  const cfg = await lab.api.get('petrel.dev/v1', 'BGPConfiguration', 'default');
  const spec = { ...(cfg!.spec as Record<string, unknown>), gracefulRestart: { enabled, restartTime: 120 } };
  await lab.api.update({ ...cfg, spec });
  // Changing the capability restarts every speaker (new OPENs): let the sessions settle.
  await new Promise((r) => setTimeout(r, 1000));
  await lab.waitConverged(60_000);
}

/**
 * Restarts `node` (SIGTERM, start again) while `ip monitor route` runs in every agent's namespace and
 * a pod on n1 pings a pod on `node` (and back) in a bounded loop; returns the Petrel routes (proto
 * 97) deleted anywhere between the stop and reconvergence, and the pings that failed.
 */
async function restartWatched(lab: PetrelLab, node: string): Promise<{ deleted: string[]; pings: number; pingsFailed: number; ms: number }> {
  await lab.waitConverged(60_000);
  const agents = [...lab.nodes.values()].filter((n) => n.role === 'agent');
  const monitors = agents.map((n) => ({ name: n.name, proc: lab.netns.spawn(`mon-${n.name}`, undefined, 'ip', ['-n', n.ns, 'monitor', 'route']) }));
  const here = podOn(lab, node);
  const there = podOn(lab, 'n1');
  let pings = 0;
  let pingsFailed = 0;
  let watching = true;
  let phase = 'before';
  const t0 = Date.now();
  const failures: string[] = [];
  const pinger = (async () => {
    while (watching && pings < 400) {
      for (const [from, to] of [[there.ns, here.ip], [here.ns, there.ip]]) {
        pings++;
        // One retry, as pingMatrix does: a lone lost echo (ARP refresh in a pod) is not an outage.
        if (!(await lab.ping(from, to)) && !(await lab.ping(from, to))) {
          pingsFailed++;
          failures.push(`${from} → ${to} (${phase}, ${Date.now() - t0} ms)`);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    await new Promise((r) => setTimeout(r, 300)); // the monitors are listening
    phase = 'stopping';
    await lab.stopNode(node);
    phase = 'stopped';
    await new Promise((r) => setTimeout(r, 2000)); // a rolling update's gap
    lab.startNode(node);
    phase = 'starting';
    await lab.waitConverged(60_000);
    phase = 'converged';
    await waitFor(`${node}'s speaker to finish its initial exchange`, () => lab.readLog(node, 200_000).includes('initial routing exchange complete'), 30_000, 200);
    await new Promise((r) => setTimeout(r, 500)); // a late delete would show now
  } finally {
    watching = false;
    await pinger;
    for (const m of monitors) await lab.netns.stop(m.proc, 1000);
  }
  const deleted = monitors.flatMap((m) => m.proc.output().split('\n')
    .filter((l) => l.startsWith('Deleted') && / proto 97\b/.test(l))
    .map((l) => `${m.name}: ${l.trim()}`));
  if (failures.length) console.log(`# pings failed: ${failures.join('; ')}`);
  return { deleted, pings, pingsFailed, ms: Date.now() - t0 };
}

