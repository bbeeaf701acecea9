import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpMetricsAdapter, DataplaneMetricsAdapter, K8sMetricsAdapter, ConvergenceMetricsAdapter, errorCode, peerType } from '../../src/metrics/adapters.js';
import { PetrelMetrics } from '../../src/metrics/registry.js';
import { parseExposition } from './helpers.js';

const fresh = () => new PetrelMetrics({ processMetrics: false });
async function samples(m: PetrelMetrics) {
  return parseExposition((await m.scrape()).body).samples;
}
const value = (list: Awaited<ReturnType<typeof samples>>, name: string, labels: Record<string, string> = {}) =>
  list.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

test('a configured peer appears Idle with zeroed counters before its session ever starts', async () => {
  const m = fresh();
  new BgpMetricsAdapter(m).peersConfigured([{ address: '192.0.2.2', asn: 64512, type: 'route reflector' }]);
  const s = await samples(m);
  assert.equal(value(s, 'petrel_bgp_session_state', { peer: '192.0.2.2' }), 1);
  assert.equal(value(s, 'petrel_bgp_session_established', { peer: '192.0.2.2' }), 0);
  assert.equal(value(s, 'petrel_bgp_session_flaps_total', { peer: '192.0.2.2' }), 0);
  assert.equal(value(s, 'petrel_bgp_peer_info', { peer: '192.0.2.2', peer_type: 'route_reflector', peer_asn: '64512' }), 1);
});

test('the session state follows the FSM with RFC 4273 numbering and a flap is counted only when leaving Established', async () => {
  const m = fresh();
  const bgp = new BgpMetricsAdapter(m);
  const s = bgp.session('2001:db8::2');
  s.stateChanged('Idle', 'Connect');
  s.stateChanged('Connect', 'Active');
  assert.equal(value(await samples(m), 'petrel_bgp_session_state', { peer: '2001:db8::2' }), 3);
  s.stateChanged('Active', 'OpenSent');
  s.stateChanged('OpenSent', 'Idle'); // never Established: not a flap
  s.stateChanged('Idle', 'OpenConfirm');
  s.stateChanged('OpenConfirm', 'Established');
  let list = await samples(m);
  assert.equal(value(list, 'petrel_bgp_session_state', { peer: '2001:db8::2' }), 6);
  assert.equal(value(list, 'petrel_bgp_session_established', { peer: '2001:db8::2' }), 1);
  assert.equal(value(list, 'petrel_bgp_session_flaps_total', { peer: '2001:db8::2' }) ?? 0, 0);
  s.stateChanged('Established', 'Idle');
  list = await samples(m);
  assert.equal(value(list, 'petrel_bgp_session_flaps_total', { peer: '2001:db8::2' }), 1);
  assert.equal(value(list, 'petrel_bgp_session_established', { peer: '2001:db8::2' }), 0);
  s.internalError?.();
  list = await samples(m);
  assert.equal(value(list, 'petrel_bgp_session_internal_errors_total', { peer: '2001:db8::2' }), 1);
});

test('a peer that is no longer configured loses every one of its series, NOTIFICATION counters included', async () => {
  const m = fresh();
  const bgp = new BgpMetricsAdapter(m);
  bgp.peersConfigured([{ address: '192.0.2.2', asn: 64512, type: 'mesh' }, { address: '192.0.2.3', asn: 64513, type: 'global' }]);
  const s = bgp.session('192.0.2.2');
  s.stateChanged('OpenConfirm', 'Established');
  s.notificationReceived(6, 4);
  s.notificationSent(3, 1);
  s.attributeProblem('attribute-discard');
  bgp.prefixesReceived('192.0.2.2', 'ipv6', 7);
  bgp.prefixesAdvertised('192.0.2.2', 'ipv4', 2);
  bgp.stalePaths('192.0.2.2', 5);
  assert.equal(value(await samples(m), 'petrel_bgp_stale_paths', { peer: '192.0.2.2' }), 5);
  bgp.stalePaths('192.0.2.2', 0);
  assert.equal((await samples(m)).some((x) => x.name === 'petrel_bgp_stale_paths'), false, 'no series once nothing is stale');
  bgp.stalePaths('192.0.2.2', 5);
  assert.ok((await samples(m)).some((x) => x.labels.peer === '192.0.2.2' && x.name === 'petrel_bgp_notifications_received_total'));
  bgp.peersConfigured([{ address: '192.0.2.3', asn: 64513, type: 'global' }]);
  const left = (await samples(m)).filter((x) => x.labels.peer === '192.0.2.2');
  assert.deepEqual(left, []);
  assert.ok((await samples(m)).some((x) => x.labels.peer === '192.0.2.3'));
});

test('a peer whose type changes keeps one info series, with the new type', async () => {
  const m = fresh();
  const bgp = new BgpMetricsAdapter(m);
  bgp.peersConfigured([{ address: '192.0.2.2', asn: 64512, type: 'node-to-node mesh' }]);
  bgp.peersConfigured([{ address: '192.0.2.2', asn: 64512, type: 'Node specific' }]);
  const info = (await samples(m)).filter((x) => x.name === 'petrel_bgp_peer_info');
  assert.deepEqual(info.map((x) => x.labels.peer_type), ['node_specific']);
});

test('free-form label values fold into the fixed lists or into other', async () => {
  assert.equal(peerType('Node-to-node mesh'), 'node_mesh');
  assert.equal(peerType('route reflector'), 'route_reflector');
  assert.equal(peerType('Global'), 'global');
  assert.equal(peerType('something else'), 'other');
  assert.equal(errorCode('K8S_ERR_GONE'), 'K8S_ERR_GONE');
  assert.equal(errorCode('ECONNRESET while reading'), 'other');
  assert.equal(errorCode('nl_err_lowercase'), 'other');
  const m = fresh();
  const dp = new DataplaneMetricsAdapter(m);
  dp.error('NL_ERR_EEXIST');
  dp.error('a kernel message with spaces');
  dp.driftRepair('neigh');
  dp.routes('remote-vxlan', 4);
  dp.routes('weird', 2);
  new BgpMetricsAdapter(m).ribSize('Loc-RIB', 'IPv6', 12);
  new ConvergenceMetricsAdapter(m).observe('k8s-to-kernel', 0.02);
  const s = await samples(m);
  assert.equal(value(s, 'petrel_dataplane_errors_total', { code: 'NL_ERR_EEXIST' }), 1);
  assert.equal(value(s, 'petrel_dataplane_errors_total', { code: 'other' }), 1);
  assert.equal(value(s, 'petrel_dataplane_drift_repairs_total', { object: 'neighbour' }), 1);
  assert.equal(value(s, 'petrel_dataplane_routes', { class: 'remote_vxlan' }), 4);
  assert.equal(value(s, 'petrel_dataplane_routes', { class: 'other' }), 2);
  assert.equal(value(s, 'petrel_dataplane_routes', { class: 'local_pod' }), 0);
  assert.equal(value(s, 'petrel_bgp_rib_routes', { table: 'loc_rib', family: 'ipv6' }), 12);
  assert.equal(value(s, 'petrel_convergence_seconds_count', { path: 'k8s_to_kernel' }), 1);
  assert.ok(!s.some((x) => Object.values(x.labels).some((v) => v.includes(' '))), 'no label value carries free text');
});

test('dataplane resyncs are counted by trigger and a kernel without ipip shows as a missing feature', async () => {
  const m = fresh();
  const dp = new DataplaneMetricsAdapter(m);
  dp.resync('start');
  dp.resync('overflow');
  dp.resync('overflow');
  dp.ipipUnsupported(true);
  dp.feature('vxlan', true);
  const s = await samples(m);
  assert.equal(value(s, 'petrel_dataplane_resyncs_total', { trigger: 'start' }), 1);
  assert.equal(value(s, 'petrel_dataplane_resyncs_total', { trigger: 'overflow' }), 2);
  assert.equal(value(s, 'petrel_dataplane_resyncs_total', { trigger: 'error' }), 0);
  assert.equal(value(s, 'petrel_dataplane_feature_available', { feature: 'ipip' }), 0);
  assert.equal(value(s, 'petrel_dataplane_feature_available', { feature: 'vxlan' }), 1);
});

test('the reflector metrics count events, lists, restarts and errors per resource, and informers are read at scrape time', async () => {
  const m = fresh();
  const k8s = new K8sMetricsAdapter(m);
  const informer = { resource: 'bgppeers', hasSynced: false, items: [] as unknown[], list() { return this.items; } };
  k8s.watchInformers([informer]);
  let s = await samples(m);
  assert.equal(value(s, 'petrel_k8s_cache_synced', { resource: 'bgppeers' }), 0);
  k8s.relist('bgppeers', 'initial');
  k8s.event('bgppeers', 'ADDED');
  k8s.event('bgppeers', 'BOOKMARK');
  k8s.relist('bgppeers', 'expired');
  k8s.restart('bgppeers', 'idle');
  k8s.error('bgppeers', 'K8S_ERR_GONE');
  k8s.event('Widgets', 'ADDED');
  informer.hasSynced = true;
  informer.items = [{}, {}, {}];
  s = await samples(m);
  assert.equal(value(s, 'petrel_k8s_watch_events_total', { resource: 'bgppeers', type: 'ADDED' }), 1);
  assert.equal(value(s, 'petrel_k8s_watch_events_total', { resource: 'bgppeers', type: 'BOOKMARK' }), 1);
  assert.equal(value(s, 'petrel_k8s_watch_events_total', { resource: 'other', type: 'ADDED' }), 1);
  assert.equal(value(s, 'petrel_k8s_lists_total', { resource: 'bgppeers', reason: 'initial' }), 1);
  assert.equal(value(s, 'petrel_k8s_lists_total', { resource: 'bgppeers', reason: 'expired' }), 1);
  assert.equal(value(s, 'petrel_k8s_watch_restarts_total', { resource: 'bgppeers', reason: 'idle' }), 1);
  assert.equal(value(s, 'petrel_k8s_watch_errors_total', { resource: 'bgppeers', code: 'K8S_ERR_GONE' }), 1);
  assert.equal(value(s, 'petrel_k8s_cache_synced', { resource: 'bgppeers' }), 1);
  assert.equal(value(s, 'petrel_k8s_cache_objects', { resource: 'bgppeers' }), 3);
});

test('a scrape hook that throws costs neither the scrape nor the other hooks', async () => {
  const m = fresh();
  let ran = 0;
  m.onScrape(() => { throw new Error('speaker gone'); });
  m.onScrape(() => { ran++; });
  const { body } = await m.scrape();
  assert.match(body, /petrel_ready 0/);
  assert.equal(ran, 1);
});
