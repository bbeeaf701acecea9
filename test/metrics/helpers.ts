/**
 * Shared by the metrics tests: populate every metric family through the adapters (the way the
 * domain code will), and read a text exposition back into series.
 */
import { BgpMetricsAdapter, CniMetricsAdapter, ConvergenceMetricsAdapter, DataplaneMetricsAdapter, K8sMetricsAdapter, ProblemMetricsAdapter } from '../../src/metrics/adapters.js';
import type { PetrelMetrics } from '../../src/metrics/registry.js';

/** `peers` full-mesh peers (198.18.x.y addresses), both families, every call at least once. */
export function populate(m: PetrelMetrics, peers: number): void {
  const bgp = new BgpMetricsAdapter(m);
  const list = Array.from({ length: peers }, (_, i) => ({ address: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`, asn: 64512, type: 'node-to-node mesh' }));
  bgp.peersConfigured(list);
  for (const p of list) {
    const s = bgp.session(p.address);
    s.stateChanged('Idle', 'Connect');
    s.stateChanged('Connect', 'OpenSent');
    s.stateChanged('OpenSent', 'OpenConfirm');
    s.stateChanged('OpenConfirm', 'Established');
    s.updateReceived(3);
    s.updateSent();
    for (const f of ['ipv4', 'ipv6']) {
      bgp.prefixesReceived(p.address, f, 1);
      bgp.prefixesAdvertised(p.address, f, 1);
    }
  }
  // Rare events on the first peer only (a realistic mesh sees them on few peers).
  const first = bgp.session(list[0].address);
  first.notificationReceived(6, 2);
  first.notificationSent(4, 0);
  first.attributeProblem('treat-as-withdraw');
  first.internalError?.();
  first.stateChanged('Established', 'Idle');
  bgp.connectionRejected('203.0.113.9');
  bgp.stalePaths(list[0].address, 3);
  bgp.maxPrefixes(list[0].address, 'ipv4', 1000);
  bgp.maxPrefixesEvent(list[0].address, 'ipv4', 'warning');
  for (const t of ['adj-rib-in', 'loc-rib', 'adj-rib-out']) for (const f of ['ipv4', 'ipv6']) bgp.ribSize(t, f, peers);
  bgp.bestPathChanged('ipv4', peers);

  const dp = new DataplaneMetricsAdapter(m);
  dp.routes('local-pod', 30);
  dp.routes('remote-direct', peers);
  dp.routes('local-block', 1);
  dp.applyLatency(0.0042);
  dp.error('NL_ERR_ENOBUFS');
  dp.driftRepair('route');
  dp.resync('start');
  dp.resync('overflow');
  dp.ipipUnsupported(true);
  for (const f of ['vxlan', 'nftables']) dp.feature(f, true);

  const k8s = new K8sMetricsAdapter(m);
  const resources = ['nodes', 'pods', 'bgpconfigurations', 'bgppeers', 'ippools'];
  for (const r of resources) {
    k8s.relist(r, 'initial');
    k8s.event(r, 'ADDED');
  }
  k8s.watchInformers(resources.map((resource) => ({ resource, hasSynced: true, list: () => Array.from({ length: resource === 'nodes' ? peers + 1 : 1 }) })));
  k8s.event('nodes', 'MODIFIED');
  k8s.relist('nodes', 'expired');
  k8s.restart('nodes', 'idle');
  k8s.error('nodes', 'K8S_ERR_GONE');

  const conv = new ConvergenceMetricsAdapter(m);
  conv.observe('k8s_to_kernel', 0.012);
  conv.observe('bgp_to_kernel', 0.003);

  const cni = new CniMetricsAdapter(m);
  cni.request('ADD', 0, 0.004);
  cni.request('DEL', 0, 0.002);
  cni.request('ADD', 101, 0.001);
  cni.allocated('198.18.0.0/26', 30);

  const problems = new ProblemMetricsAdapter(m);
  problems.http('status').rejected?.('bad_request');
  problems.unexpected('reload');
}

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses the sample lines of a Prometheus text exposition (enough for our own output). */
export function parseExposition(text: string): { samples: Sample[]; help: Map<string, string>; type: Map<string, string> } {
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) { help.set(m[1], m[2]); continue; }
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) { type.set(m[1], m[2]); continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, help, type };
}

/** The family a sample belongs to (histogram and summary suffixes folded). */
export function familyOf(sample: string, families: Set<string>): string {
  if (families.has(sample)) return sample;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix) && families.has(sample.slice(0, -suffix.length))) return sample.slice(0, -suffix.length);
  }
  return sample;
}
