import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { hasCommand } from '../../src/lab/netns.js';
import { PetrelMetrics } from '../../src/metrics/registry.js';
import { DEPLOY, ROOT, find, kustomize, kustomizeWith, readYaml, type Obj, KUBECTL_SKIP, haveKubectl } from './manifests.js';

const MON = join(DEPLOY, 'components', 'monitoring');
const rule = readYaml(join(MON, 'prometheusrule.yaml'))[0];
const dashboard = JSON.parse(readFileSync(join(MON, 'grafana-dashboard.json'), 'utf8')) as Obj;
const families = new Set(new PetrelMetrics().familyNames());

/** petrel_* metric names used in a PromQL expression, histogram suffixes folded onto their family. */
function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\bpetrel_[a-z0-9_]+/g)) {
    let n = m[0];
    for (const suffix of ['_bucket', '_sum', '_count']) if (!families.has(n) && n.endsWith(suffix)) n = n.slice(0, -suffix.length);
    names.add(n);
  }
  return [...names];
}

function promtool(args: string[], cwd: string) {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-promtool-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every metric the alerts and the dashboard query is one Petrel exports', () => {
  const exprs: Array<[string, string]> = [];
  for (const g of rule.spec.groups) for (const r of g.rules) exprs.push([r.alert, r.expr]);
  for (const p of dashboard.panels) for (const t of p.targets ?? []) exprs.push([p.title, t.expr]);
  for (const v of dashboard.templating.list) if (v.definition) exprs.push([`variable ${v.name}`, v.definition]);
  assert.ok(exprs.length > 30);
  const unknown = exprs.flatMap(([where, e]) => metricNames(e).filter((n) => !families.has(n)).map((n) => `${where}: ${n}`));
  assert.deepEqual(unknown, []);
});

test('the alerts cover peer down, no routes, resync errors and failing watches', () => {
  const alerts = rule.spec.groups.flatMap((g: Obj) => g.rules.map((r: Obj) => r.alert));
  for (const a of ['PetrelBGPPeerDown', 'PetrelBGPNoPeerEstablished', 'PetrelNoRemoteRoutes', 'PetrelDataplaneResyncErrors', 'PetrelKubernetesWatchFailing', 'PetrelKubernetesCacheNotSynced']) {
    assert.ok(alerts.includes(a), `missing ${a}`);
  }
  for (const g of rule.spec.groups) for (const r of g.rules) {
    assert.ok(['critical', 'warning', 'info'].includes(r.labels?.severity), `${r.alert} severity`);
    assert.ok(r.annotations?.summary && r.annotations?.description, `${r.alert} annotations`);
  }
});

test('promtool check rules accepts the rule groups (PromQL and templates)', (t) => {
  if (!hasCommand('promtool')) return t.skip('promtool (Debian package prometheus) is not installed');
  withDir((dir) => {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
    const r = promtool(['check', 'rules', 'rules.yaml'], dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${rule.spec.groups.reduce((n: number, g: Obj) => n + g.rules.length, 0)} rules found`));
    // And the check can fail.
    writeFileSync(join(dir, 'bad.yaml'), stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum by (peer petrel_ready' }] }] }));
    assert.notEqual(promtool(['check', 'rules', 'bad.yaml'], dir).status, 0);
  });
});

const agent = { job: 'petrel-agent', instance: '192.0.2.1:9476', node: 'node-a' };
const sel = (labels: Record<string, string>) => `{${Object.entries({ ...agent, ...labels }).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

test('promtool test rules: the main alerts fire on the series that should fire them, and not otherwise', (t) => {
  if (!hasCommand('promtool')) return t.skip('promtool (Debian package prometheus) is not installed');
  // The unit test checks expressions and labels; annotation texts are checked by `check rules` above.
  const groups = rule.spec.groups.map((g: Obj) => ({ ...g, rules: g.rules.map((r: Obj) => ({ ...r, annotations: undefined })) }));
  const tests = [
    {
      interval: '1m',
      input_series: [
        { series: `petrel_bgp_session_established${sel({ peer: '192.0.2.2' })}`, values: '0x10' },
        { series: `petrel_bgp_session_established${sel({ peer: '192.0.2.3' })}`, values: '1x10' },
        { series: `petrel_bgp_peer_info${sel({ peer: '192.0.2.2', peer_type: 'node_mesh', peer_asn: '64512' })}`, values: '1x10' },
        { series: `petrel_bgp_peer_info${sel({ peer: '192.0.2.3', peer_type: 'node_mesh', peer_asn: '64512' })}`, values: '1x10' },
      ],
      alert_rule_test: [
        { eval_time: '3m', alertname: 'PetrelBGPPeerDown', exp_alerts: [] },
        { eval_time: '6m', alertname: 'PetrelBGPPeerDown', exp_alerts: [{ exp_labels: { severity: 'warning', ...agent, peer: '192.0.2.2', peer_type: 'node_mesh', peer_asn: '64512' } }] },
        { eval_time: '6m', alertname: 'PetrelBGPNoPeerEstablished', exp_alerts: [] },
      ],
    },
    {
      interval: '1m',
      input_series: [
        { series: `petrel_bgp_session_established${sel({ peer: '192.0.2.2' })}`, values: '0x10' },
        { series: `petrel_bgp_session_established${sel({ peer: '192.0.2.3' })}`, values: '0x10' },
        { series: `petrel_k8s_cache_synced${sel({ resource: 'pods' })}`, values: '0x15' },
        { series: `petrel_k8s_cache_synced${sel({ resource: 'nodes' })}`, values: '1x15' },
        { series: `petrel_k8s_cache_objects${sel({ resource: 'nodes' })}`, values: '3x15' },
        { series: `petrel_dataplane_routes${sel({ class: 'remote_direct' })}`, values: '0x15' },
        { series: `petrel_dataplane_routes${sel({ class: 'remote_vxlan' })}`, values: '0x15' },
        { series: `petrel_dataplane_resyncs_total${sel({ trigger: 'overflow' })}`, values: '0+1x20' },
        { series: `petrel_dataplane_resyncs_total${sel({ trigger: 'periodic' })}`, values: '0+1x20' },
        { series: `petrel_k8s_watch_errors_total${sel({ resource: 'nodes', reason: 'gone' })}`, values: '0+1x20' },
        { series: `petrel_bgp_session_internal_errors_total${sel({ peer: '192.0.2.2' })}`, values: '0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1' },
      ],
      alert_rule_test: [
        { eval_time: '6m', alertname: 'PetrelBGPNoPeerEstablished', exp_alerts: [{ exp_labels: { severity: 'critical', ...agent } }] },
        { eval_time: '11m', alertname: 'PetrelKubernetesCacheNotSynced', exp_alerts: [{ exp_labels: { severity: 'critical', ...agent, resource: 'pods' } }] },
        { eval_time: '11m', alertname: 'PetrelNoRemoteRoutes', exp_alerts: [{ exp_labels: { severity: 'critical', ...agent } }] },
        { eval_time: '16m', alertname: 'PetrelDataplaneResyncErrors', exp_alerts: [{ exp_labels: { severity: 'warning', ...agent } }] },
        { eval_time: '16m', alertname: 'PetrelKubernetesWatchFailing', exp_alerts: [{ exp_labels: { severity: 'warning', ...agent, resource: 'nodes' } }] },
        { eval_time: '2m', alertname: 'PetrelBGPInternalError', exp_alerts: [] },
        { eval_time: '5m', alertname: 'PetrelBGPInternalError', exp_alerts: [{ exp_labels: { severity: 'warning', ...agent, peer: '192.0.2.2' } }] },
      ],
    },
    {
      // A healthy agent: everything Established, synced, routes present, only periodic resyncs.
      interval: '1m',
      input_series: [
        { series: `petrel_bgp_session_established${sel({ peer: '192.0.2.2' })}`, values: '1x20' },
        { series: `petrel_k8s_cache_synced${sel({ resource: 'nodes' })}`, values: '1x20' },
        { series: `petrel_k8s_cache_objects${sel({ resource: 'nodes' })}`, values: '3x20' },
        { series: `petrel_dataplane_routes${sel({ class: 'remote_direct' })}`, values: '2x20' },
        { series: `petrel_dataplane_resyncs_total${sel({ trigger: 'periodic' })}`, values: '0+1x20' },
        { series: `petrel_ready${sel({})}`, values: '1x20' },
      ],
      alert_rule_test: ['PetrelBGPPeerDown', 'PetrelBGPNoPeerEstablished', 'PetrelBGPInternalError', 'PetrelKubernetesCacheNotSynced', 'PetrelNoRemoteRoutes', 'PetrelDataplaneResyncErrors', 'PetrelNotReady']
        .map((alertname) => ({ eval_time: '16m', alertname, exp_alerts: [] })),
    },
  ];
  withDir((dir) => {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const r = promtool(['test', 'rules', 'tests.yaml'], dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });
});

test('every dashboard query is valid PromQL (promtool, with the Grafana variables substituted)', (t) => {
  if (!hasCommand('promtool')) return t.skip('promtool (Debian package prometheus) is not installed');
  const exprs: string[] = [];
  for (const p of dashboard.panels) for (const q of p.targets ?? []) exprs.push(q.expr);
  const substituted = exprs.map((e) => e.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*').replaceAll('$node', '.*'));
  assert.ok(substituted.every((e) => !e.includes('$')), 'an unknown Grafana variable is left');
  withDir((dir) => {
    const rules = substituted.map((expr, i) => ({ record: `petrel:dashboard_query_${i}`, expr }));
    writeFileSync(join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = promtool(['check', 'rules', 'dashboard.yaml'], dir);
    assert.equal(r.status, 0, r.out);
  });
});

test('the Grafana dashboard is self-contained: a datasource variable, unique panel ids, a query on every panel', () => {
  assert.equal(dashboard.uid, 'petrel-overview');
  const vars = dashboard.templating.list.map((v: Obj) => v.name);
  assert.deepEqual(vars, ['datasource', 'job', 'node']);
  const ids = dashboard.panels.map((p: Obj) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of dashboard.panels.filter((x: Obj) => x.type !== 'row')) {
    assert.ok(p.targets.length > 0, p.title);
    assert.equal(p.datasource.uid, '${datasource}', p.title);
    for (const t of p.targets) assert.match(t.expr, /job=~"\$job", node=~"\$node"/, `${p.title} ignores the variables`);
  }
  const cm = readYaml(join(MON, 'kustomization.yaml'))[0].configMapGenerator[0];
  assert.deepEqual(cm.files, ['petrel.json=grafana-dashboard.json']);
});

// kube-prometheus-stack's Prometheus selects ServiceMonitors and PrometheusRules by `release: <Helm release
// name>` by default (serviceMonitorSelectorNilUsesHelmValues / ruleSelectorNilUsesHelmValues: true).
const selectedBy = (o: Obj, release: string) => o.metadata.labels?.release === release;

test('kube-prometheus-stack\'s default selectors pick up the ServiceMonitor and the PrometheusRule (release: kube-prometheus-stack)', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const objs = kustomizeWith('full-mesh', ['monitoring']);
  for (const kind of ['ServiceMonitor', 'PrometheusRule']) assert.ok(selectedBy(find(objs, kind, 'petrel'), 'kube-prometheus-stack'), `${kind} lacks release: kube-prometheus-stack`);
  // The release label goes on the monitoring objects only, not on everything the component's overlay holds.
  for (const o of objs.filter((x) => !String(x.apiVersion).startsWith('monitoring.coreos.com/'))) assert.equal(o.metadata.labels?.release, undefined, `${o.kind} ${o.metadata.name}`);
  assert.equal(find(objs, 'ConfigMap', 'petrel-grafana-dashboard').metadata.labels.grafana_dashboard, '1');
});

test('the release label patch that docs/operations.md shows relabels both objects for another Helm release', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8').split('\n');
  const at = doc.findIndex((l) => l.includes("# the monitoring objects' release label"));
  assert.ok(at > 0, 'the patch is no longer in docs/operations.md');
  const indent = /^\s*/.exec(doc[at])![0].length;
  const block: string[] = [];
  for (const l of doc.slice(at + 1)) {
    if (l.trim() !== '' && /^\s*/.exec(l)![0].length < indent) break;
    block.push(l.slice(indent));
  }
  const patches = block.join('\n').trim().replace('value: my-release', 'value: monitoring');
  const dir = mkdtempSync(join(tmpdir(), 'petrel-kustomize-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization',
      'resources:', `  - ${relative(dir, join(DEPLOY, 'overlays', 'full-mesh'))}`,
      'components:', `  - ${relative(dir, MON)}`, patches, '',
    ].join('\n'));
    const objs = kustomize(dir);
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) assert.ok(selectedBy(find(objs, kind, 'petrel'), 'monitoring'), `${kind} not relabelled`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
