/**
 * The lab end to end (issue 5, "done when" 1 and 2): real `petrel agent` and `petrel reflector`
 * processes in namespaces, the API server in its own process. One lab for the whole file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PetrelLab } from '../../src/lab/lab.js';
import { waitFor } from '../../src/lab/netns.js';
import { alive, metricsOf, metricValue, namespacesWith, skipReason, startLab, waitPing, waitRoute } from './helpers.js';

const PREFIX = 'ptla';

describe('the lab', { skip: skipReason }, () => {
  let lab: PetrelLab;
  before(async () => { lab = await startLab(PREFIX); });
  after(async () => { await lab?.destroy(); });

  it('comes up from a clean state with every pod pinging every other pod', async () => {
    const m = await lab.pingMatrix();
    assert.equal(m.rows.length, 30);
    assert.deepEqual(m.rows.filter((r) => !r.ok), [], lab.renderMatrix(m.rows));
  });

  it('shows every peer Established in petrel status --json on each node and reflector', async () => {
    for (const n of lab.nodes.values()) {
      const s = await lab.status(n.name);
      const expected = n.role === 'agent' ? ['192.0.2.21', '198.51.100.22'] : [...lab.nodes.values()].filter((o) => o !== n).map((o) => o.address);
      assert.deepEqual((s.peers as Array<{ address: string }>).map((p) => p.address).sort(), expected.sort(), n.name);
      for (const p of s.peers as Array<{ address: string; state: string }>) assert.equal(p.state, 'Established', `${n.name} → ${p.address}`);
      if (n.role === 'reflector') assert.equal(s.clusterId, '198.51.100.250');
    }
  });

  it('answers /readyz with 200 on every node and sets each agent Node\'s NetworkUnavailable condition False', async () => {
    for (const n of lab.nodes.values()) {
      const r = await lab.httpGet(n.ns, `http://${n.address}:9477/readyz`);
      assert.equal(r.status, 200, `${n.name}: ${r.body}`);
      if (n.role !== 'agent') continue;
      // Set by the agent's own PATCH once it is up; it may land just after the routes did.
      const cond = await waitFor(`${n.name}'s NetworkUnavailable condition`, async () => {
        const node = await lab.api.get('v1', 'Node', n.name);
        return (node?.status?.conditions as Array<{ type: string; status: string; reason: string }> | undefined)?.find((c) => c.type === 'NetworkUnavailable');
      }, 20_000, 200);
      assert.equal(cond.status, 'False', n.name);
      assert.equal(cond.reason, 'PetrelIsUp');
    }
  });

  it('routes the other subnet through VXLAN and the same subnet directly (CrossSubnet)', async () => {
    const n1 = await lab.routes('n1');
    const to = (dst: string) => n1.find((r) => r.dst === dst);
    assert.equal(to(lab.node('n2').block!)?.dev, 'eth0');
    assert.equal(to(lab.node('n2').block!)?.gateway, '192.0.2.12');
    assert.equal(to(lab.node('n3').block!)?.dev, lab.encapsulation === 'vxlan' ? 'vxlan.petrel' : 'tunl0');
  });

  it('makes a new pod on n1 reachable from n3 in the other subnet through events alone, no resync or relist', async () => {
    const before = await metricsOf(lab, 'n1');
    const pod = await lab.addPod('n1', 'late1');
    await waitRoute(lab, 'n1', pod.ip);
    await waitPing(lab, lab.pods.find((p) => p.node === 'n3')!.ns, pod.ip);
    const afterText = await metricsOf(lab, 'n1');
    // The route came from the pod's watch event: no periodic dataplane resync and no LIST ran in between.
    for (const trigger of ['periodic', 'overflow', 'error']) {
      assert.equal(metricValue(afterText, 'petrel_dataplane_resyncs_total', { trigger }), metricValue(before, 'petrel_dataplane_resyncs_total', { trigger }), trigger);
    }
    assert.equal(metricValue(afterText, 'petrel_k8s_lists_total', { resource: 'pods' }), metricValue(before, 'petrel_k8s_lists_total', { resource: 'pods' }));
    assert.ok(metricValue(afterText, 'petrel_k8s_watch_events_total', { resource: 'pods' }) > metricValue(before, 'petrel_k8s_watch_events_total', { resource: 'pods' }));
  });

  it('a pod made through the CNI plugin: routed at once, freed by DEL; an attachment no Pod names survives reconciles and an agent restart', async () => {
    // A runtime outside Kubernetes (no K8S_POD_* arguments, no Pod object): its route stays.
    const d = lab.cniDirs('n1');
    const conf = JSON.stringify(lab.netconf('n1'));
    const ns = lab.net.addPodNs('n1', 'raw', 'ctr1');
    const add = await lab.cni('n1', { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr-raw-1', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' }, conf);
    assert.equal(add.status, 0, add.stdout);
    const rawIp = String(JSON.parse(add.stdout).ips[0].address).split('/')[0];
    assert.ok((await lab.routes('n1')).some((r) => r.dst === rawIp), 'installed before ADD returned');
    // A Pod event makes n1 reconcile its local pods; the raw attachment must stay desired.
    const pod = await lab.addPod('n1', 'cni1');
    await waitPing(lab, lab.pods.find((p) => p.node === 'n3')!.ns, pod.ip);
    await waitPing(lab, lab.pods.find((p) => p.node === 'n3')!.ns, rawIp);
    await lab.stopNode('n1');
    lab.startNode('n1');
    await lab.waitConverged(60_000);
    assert.ok((await lab.routes('n1')).some((r) => r.dst === rawIp), 'recovered from the state directory after the restart');
    await waitPing(lab, lab.pods.find((p) => p.node === 'n3')!.ns, rawIp);
    // DEL of the Kubernetes pod: its route and its allocation go.
    const allocated = () => readdirSync(join(d.state, 'cni', 'allocations'));
    assert.ok(allocated().includes(pod.ip));
    await lab.removePod('cni1');
    assert.ok(!allocated().includes(pod.ip));
    await waitRoute(lab, 'n1', pod.ip, false);
  });

  it('removes a deleted Node\'s block route from every other kernel', async () => {
    const block = lab.node('n2').block!;
    for (const n of ['n1', 'n3']) await waitRoute(lab, n, block, true);
    await lab.api.delete('v1', 'Node', 'n2');
    for (const n of ['n1', 'n3']) await waitRoute(lab, n, block, false);
    for (const rr of ['rr1', 'rr2']) {
      const s = await lab.status(rr);
      assert.ok(!(s.peers as Array<{ address: string }>).some((p) => p.address === '192.0.2.12'), `${rr} still peers with n2`);
    }
  });

  it('tears down leaving no namespace and no process behind', async () => {
    const pids = [lab.apiProc!.pid, ...[...lab.nodes.values()].map((n) => n.proc!.pid)];
    assert.ok(namespacesWith(PREFIX).length > 10);
    await lab.destroy();
    assert.deepEqual(namespacesWith(PREFIX), []);
    assert.deepEqual(pids.filter(alive), []);
  });
});
