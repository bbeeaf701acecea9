import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_HEALTH_PORT, DEFAULT_METRICS_PORT, parseListenAddress } from '../../src/metrics/server.js';
import { DEPLOY, NAMESPACE, ROOT, crds, find, haveKubectl, kustomize, kustomizeWith, type Obj, KUBECTL_SKIP } from './manifests.js';

const definitions = crds();
const plurals = definitions.map((c) => c.spec.names.plural as string).sort();

let built: Obj[] | undefined;
/** The route-reflectors overlay with monitoring: every object kind the deploy has (built once per file). */
function build(): Obj[] {
  return structuredClone((built ??= kustomizeWith('route-reflectors', ['monitoring'])));
}

// What each ServiceAccount may do, exactly: rbac.test.ts (derived from the code's client calls).

test('no role grants a wildcard, and the roles name exactly the CRDs the deploy installs', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const objs = build();
  for (const r of objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
    for (const rule of r.rules) {
      for (const k of ['apiGroups', 'resources', 'verbs']) assert.ok(!(rule[k] ?? []).includes('*'), `${r.metadata.name} grants * in ${k}`);
      if (rule.apiGroups.includes('petrel.dev')) assert.deepEqual([...rule.resources].sort(), plurals, `${r.metadata.name}`);
    }
  }
  const installed = objs.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.spec.names.plural).sort();
  assert.deepEqual(installed, plurals);
});

interface WorkloadSpec { kind: 'DaemonSet' | 'Deployment'; name: string; mode: string; sa: string; caps: string[]; hostPaths: string[] }
const WORKLOADS: WorkloadSpec[] = [
  // SYS_ADMIN: setns() into pods' network namespaces for the CNI plugin (docs/cni.md, "Privileges").
  { kind: 'DaemonSet', name: 'petrel-agent', mode: 'agent', sa: 'petrel-agent', caps: ['NET_ADMIN', 'NET_BIND_SERVICE', 'SYS_ADMIN'], hostPaths: ['/etc/cni/net.d', '/opt/cni/bin', '/var/lib/petrel', '/var/run/netns', '/var/run/petrel'] },
  { kind: 'Deployment', name: 'petrel-reflector', mode: 'reflector', sa: 'petrel-reflector', caps: ['NET_BIND_SERVICE'], hostPaths: [] },
];

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`${name}=`));
  return a?.slice(name.length + 1);
}

for (const w of WORKLOADS) {
  test(`${w.kind} ${w.name} references its ServiceAccount, ports, probes and node name consistently`, (t) => {
    if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
    const objs = build();
    const o = find(objs, w.kind, w.name);
    const pod = o.spec.template.spec;
    assert.equal(pod.serviceAccountName, w.sa);
    find(objs, 'ServiceAccount', w.sa);
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
    // The image and the agent are Linux-only; tolerating every taint must not put it on a Windows node.
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.ok(pod.terminationGracePeriodSeconds >= 10);
    for (const [k, v] of Object.entries(o.spec.selector.matchLabels)) assert.equal(o.spec.template.metadata.labels[k], v, `selector ${k}`);
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0];
    assert.deepEqual(c.command, ['node', 'dist/cli.js', w.mode]);
    assert.equal(flag(c.args, '--node-name'), '$(NODE_NAME)');
    const nodeEnv = c.env.find((e: Obj) => e.name === 'NODE_NAME');
    assert.equal(nodeEnv?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
    const ports = new Map<string, Obj>(c.ports.map((p: Obj) => [p.name, p]));
    for (const p of c.ports) assert.equal(p.hostPort, p.containerPort, `${p.name}: on the host network hostPort = containerPort`);
    assert.equal(parseListenAddress(flag(c.args, '--metrics-address')!, 'metrics')?.port, ports.get('metrics')?.containerPort);
    assert.equal(parseListenAddress(flag(c.args, '--health-address')!, 'health')?.port, ports.get('health')?.containerPort);
    assert.equal(ports.get('metrics')?.containerPort, DEFAULT_METRICS_PORT);
    assert.equal(ports.get('health')?.containerPort, DEFAULT_HEALTH_PORT);
    // The BGP port is the one BGPConfiguration.listenPort defaults to.
    const conf = definitions.find((d) => d.spec.names.kind === 'BGPConfiguration')!;
    assert.equal(ports.get('bgp')?.containerPort, conf.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.listenPort.default);
    assert.deepEqual([c.livenessProbe.httpGet.path, c.startupProbe.httpGet.path, c.readinessProbe.httpGet.path], ['/livez', '/livez', '/readyz']);
    for (const p of [c.livenessProbe, c.startupProbe, c.readinessProbe]) assert.ok(ports.has(p.httpGet.port), `probe port ${p.httpGet.port}`);
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
  });

  test(`${w.kind} ${w.name} runs with the least privilege its job allows`, (t) => {
    if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
    const o = find(build(), w.kind, w.name);
    const pod = o.spec.template.spec;
    const sc = pod.containers[0].securityContext;
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    assert.deepEqual([...sc.capabilities.add].sort(), [...w.caps].sort());
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.privileged, false);
    assert.equal(sc.seccompProfile.type, 'RuntimeDefault');
    assert.deepEqual((pod.volumes ?? []).filter((v: Obj) => v.hostPath).map((v: Obj) => v.hostPath.path).sort(), w.hostPaths, 'hostPath volumes');
    assert.ok(!pod.hostPID && !pod.hostIPC);
    for (const ic of pod.initContainers ?? []) {
      assert.deepEqual(ic.securityContext.capabilities.drop, ['ALL']);
      assert.equal(ic.securityContext.capabilities.add, undefined, `${ic.name} needs no capability`);
      assert.equal(ic.securityContext.readOnlyRootFilesystem, true);
    }
  });
}

test('the install-cni init container and the agent agree on the CNI directories, and the conflist names host paths', (t) => {
  if (!haveKubectl()) return t.skip('kubectl (Debian package kubectl) is not installed');
  const pod = find(build(), 'DaemonSet', 'petrel-agent').spec.template.spec;
  const init = pod.initContainers.find((c: Obj) => c.name === 'install-cni');
  assert.deepEqual(init.command, ['node', 'dist/cli.js', 'install-cni']);
  const agent = pod.containers[0];
  const hostOf = (c: Obj, path: string) => {
    const m = c.volumeMounts.find((x: Obj) => x.mountPath === path);
    return m && pod.volumes.find((v: Obj) => v.name === m.name)?.hostPath?.path;
  };
  // The plugin and the conflist land in the host's CNI directories.
  assert.equal(hostOf(init, flag(init.args, '--bin-dir')!), '/opt/cni/bin');
  assert.equal(hostOf(init, flag(init.args, '--conf-dir')!), '/etc/cni/net.d');
  // The conflist's directories (read by the executable on the host) are where the agent keeps them.
  for (const f of ['--state-dir', '--run-dir']) {
    const dir = flag(init.args, f)!;
    assert.equal(flag(agent.args, f), dir, `${f} is the same for install-cni and the agent`);
    assert.equal(hostOf(agent, dir), dir, `${f}: the agent mounts host ${dir} at the same path`);
  }
  const netns = agent.volumeMounts.find((m: Obj) => m.mountPath === '/var/run/netns');
  assert.equal(netns.mountPropagation, 'HostToContainer', 'pod namespaces made after the agent started are visible to it');
});

test('the agent runs on every node and rolls out one node at a time', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const ds = find(kustomize(join(DEPLOY, 'overlays', 'full-mesh')), 'DaemonSet', 'petrel-agent');
  assert.deepEqual(ds.spec.template.spec.tolerations, [{ operator: 'Exists' }]);
  assert.equal(ds.spec.template.spec.priorityClassName, 'system-node-critical');
  assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(ds.spec.template.spec.affinity, undefined, 'in a full mesh nothing keeps the agent off a node');
});

test('the reflectors are two, never on one node, and a PodDisruptionBudget keeps one up', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const objs = build();
  const dep = find(objs, 'Deployment', 'petrel-reflector');
  const labels = dep.spec.template.metadata.labels;
  assert.equal(dep.spec.replicas, 2);
  const anti = dep.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
  assert.equal(anti.length, 1);
  assert.equal(anti[0].topologyKey, 'kubernetes.io/hostname');
  for (const [k, v] of Object.entries(anti[0].labelSelector.matchLabels)) assert.equal(labels[k], v);
  const pdb = find(objs, 'PodDisruptionBudget', 'petrel-reflector');
  assert.equal(pdb.spec.minAvailable, 1);
  for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(labels[k], v);
});

test('each metrics Service selects a workload and targets its metrics port, and the ServiceMonitor selects the Services', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const objs = build();
  const workloads = objs.filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment');
  const services = objs.filter((o) => o.kind === 'Service');
  assert.deepEqual(services.map((s) => s.metadata.name).sort(), ['petrel-agent-metrics', 'petrel-reflector-metrics']);
  const sm = find(objs, 'ServiceMonitor', 'petrel');
  for (const s of services) {
    const matches = workloads.filter((w) => Object.entries(s.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
    assert.equal(matches.length, 1, `${s.metadata.name} selects ${matches.length} workloads`);
    const container = matches[0].spec.template.spec.containers[0];
    for (const p of s.spec.ports) assert.ok(container.ports.some((cp: Obj) => cp.name === p.targetPort && cp.containerPort === p.port), `${s.metadata.name} port ${p.name}`);
    assert.ok(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v), `ServiceMonitor misses ${s.metadata.name}`);
    assert.ok(sm.spec.endpoints.every((e: Obj) => s.spec.ports.some((p: Obj) => p.name === e.port)));
    assert.ok(s.metadata.labels[sm.spec.jobLabel], `${s.metadata.name} lacks the job label ${sm.spec.jobLabel}`);
  }
  assert.deepEqual(sm.spec.namespaceSelector.matchNames, [NAMESPACE]);
  const ns = find(objs, 'Namespace', NAMESPACE);
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged');
});

test('every flag the manifests pass is one the CLI parses', (t) => {
  if (!haveKubectl()) return t.skip(KUBECTL_SKIP);
  const cli = join(ROOT, 'src', 'cli', 'agent.ts');
  if (!existsSync(cli)) return t.skip('src/cli/agent.ts (petrel agent / reflector) does not exist yet');
  const source = readFileSync(cli, 'utf8');
  for (const w of WORKLOADS) {
    const c = find(build(), w.kind, w.name).spec.template.spec.containers[0];
    for (const a of c.args as string[]) {
      const name = /^--([a-z-]+)=/.exec(a)?.[1];
      assert.ok(name, `${w.name}: argument ${a} is not --flag=value`);
      assert.ok(source.includes(`'${name}': {`) || source.includes(`${name}: {`), `${w.name}: src/cli/agent.ts does not parse --${name}`);
    }
  }
});
