/**
 * The lab scenario behind `petrel lab up` (and `npm run demo`), the lab tests and the convergence
 * benchmark: a small Kubernetes cluster made of network namespaces on this machine, with real
 * `petrel agent` / `petrel reflector` processes and the embedded API server in its own process.
 *
 *   segment a 192.0.2.0/24          router          segment b 198.51.100.0/24
 *     api .10  n1 .11  n2 .12  rr1 .21  ──rtr──  n3 .13  rr2 .22
 *   pods: 2 per node, /32s from the node's /26 block in 198.18.0.0/16 (IPPool, CrossSubnet encapsulation)
 *
 * The lab plays every role Kubernetes' own components would: node provisioning (Node objects with
 * podCIDRs, InternalIP, the reflectors' cluster id and the BGP address), kubelet + CNI (pod namespaces wired with the
 * dataplane's veth naming rule, Pod objects with status.podIP), and the control plane (the API server
 * child, driven over its unix-socket control channel, see api-process.ts).
 *
 * Everything lives under one NetnsLab prefix and one runtime directory (kubeconfig, token, logs,
 * state.json): `destroy()` stops every process by PID and deletes every namespace; `downFromState()`
 * does the same from another process (`petrel lab down` after `up --keep`).
 *
 * What burned us:
 *   - An agent runs inside its node namespace (so its BGP listener and metrics live there) and
 *     programs exactly that namespace. The guard of PETREL_REQUIRE_NETNS=1 used to refuse a process's
 *     own namespace; it now refuses PID 1's (dataplane/netns-guard.ts), so agents get --netns NODE and
 *     run with the guard on.
 *   - Processes must not write to pipes of a controller that may exit (--keep): their output goes to
 *     log files in the runtime directory, and they are started detached so Ctrl-C of `lab up` does not
 *     reach them before the controller's own teardown does.
 *   - This kernel has no ipip: the pool uses vxlanMode CrossSubnet unless an ipip link can be created.
 *   - The VXLAN annotations (VTEP MAC and address) are the agents' own, as in a real cluster: each agent
 *     writes them on its Node once it has a podCIDR (agent/node-annotator.ts). The lab once pre-wrote
 *     them with another address than the agent's, and every agent's first act was a Node patch that
 *     woke every other agent. A block given later (the benchmark's event) reaches the nodes behind the
 *     router through the VTEP they derive for its owner (model/vtep.ts); the owner's annotation patch
 *     follows and changes nothing, exactly the real cluster's path.
 */
import { execFile } from 'node:child_process';
import { pingFailureReason } from './requirements.js';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { formatIp, parseIp } from '../model/ip.js';
import { ApiControl } from './api-process.js';
import { NetnsError, NetnsLab, removeStaleNamespaces, waitFor, type LabProcess } from './netns.js';
import { LabNetwork, type SegmentSpec } from './topology.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const LAB_RUNTIME_ROOT = '/run/petrel-lab';
export const POOL_CIDR = '198.18.0.0/16';
export const CLUSTER_ID = '198.51.100.250';
export const AS_NUMBER = 64512;
export const API_PORT = 6443;
export const METRICS_PORT = 9476;
export const HEALTH_PORT = 9477;
export const STATUS_ADDRESS = '127.0.0.1:9179';
export const PETREL_PROTOCOL = 97;

export interface LabNodeSpec {
  name: string;
  segment: 'a' | 'b';
  address: string;
  role: 'agent' | 'reflector';
  /** Create the Node without spec.podCIDRs (its block is given later by assignBlock(): the benchmark's event). */
  withoutBlock?: boolean;
}

export interface LabNode extends LabNodeSpec {
  ns: string;
  /** The /26 pod block (agents only). */
  block?: string;
  /** Whether the Node object carries the block in spec.podCIDRs. */
  blockAssigned: boolean;
  proc?: LabProcess;
  log: string;
}

export interface LabPod {
  namespace: string;
  name: string;
  node: string;
  ip: string;
  ns: string;
  /** The CNI attachment (the runtime's container ID). */
  containerId: string;
  /** The CNI plugin's ADD result. */
  result: Obj;
}

/** One node's CNI directories (install-cni's --bin-dir, --conf-dir; the agent's --state-dir, --run-dir). */
export interface LabCniDirs { bin: string; conf: string; state: string; run: string }

export interface LabOptions {
  /** Namespace name prefix; stale namespaces starting with `${prefix}-` are removed first. */
  prefix: string;
  /** Runtime directory (default /run/petrel-lab/<prefix>). */
  runtimeDir?: string;
  nodes?: LabNodeSpec[];
  podsPerNode?: number;
  /** 'auto' = ipip when the kernel has it, else vxlan. */
  encapsulation?: 'auto' | 'vxlan' | 'ipip';
  /** Extra flags for every agent/reflector process. */
  agentArgs?: string[];
  /** Extra flags for node itself, per lab node (e.g. `--cpu-prof` for a benchmark's profile). */
  nodeFlags?: (name: string) => string[];
  log?: (line: string) => void;
  /** Built CLI (default dist/cli.js of this checkout). */
  cli?: string;
}

export interface LabState {
  prefix: string;
  runtimeDir: string;
  control: string;
  namespaces: string[];
  processes: Array<{ name: string; pid: number }>;
  createdAt: string;
}

export const DEMO_NODES: LabNodeSpec[] = [
  { name: 'n1', segment: 'a', address: '192.0.2.11', role: 'agent' },
  { name: 'n2', segment: 'a', address: '192.0.2.12', role: 'agent' },
  { name: 'n3', segment: 'b', address: '198.51.100.13', role: 'agent' },
  { name: 'rr1', segment: 'a', address: '192.0.2.21', role: 'reflector' },
  { name: 'rr2', segment: 'b', address: '198.51.100.22', role: 'reflector' },
];
const API_HOST = { name: 'api', segment: 'a', address: '192.0.2.10' } as const;

export function defaultCli(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli.js');
}

/** The i-th /26 block of the pool (i from 0), and an address at `offset` inside it. */
export function blockOf(i: number): string {
  return `${addOffset('198.18.0.0', i * 64)}/26`;
}
export function addOffset(ip: string, n: number): string {
  const b = parseIp(ip);
  let v = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3] + n;
  const out = new Uint8Array(4);
  for (let k = 3; k >= 0; k--) { out[k] = v & 0xff; v = Math.floor(v / 256); }
  return formatIp(out);
}

function sh(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ status: err ? ((err as { code?: number }).code ?? 1) as number : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export class PetrelLab {
  readonly netns: NetnsLab;
  readonly net: LabNetwork;
  readonly nodes = new Map<string, LabNode>();
  readonly pods: LabPod[] = [];
  readonly api: ApiControl;
  readonly runtimeDir: string;
  readonly cli: string;
  readonly encapsulation: 'vxlan' | 'ipip';
  apiNs = '';
  apiProc: LabProcess | undefined;
  private readonly log: (line: string) => void;
  private readonly token = randomBytes(24).toString('hex');
  private blocks = 0;
  private destroyed = false;

  private constructor(readonly opts: LabOptions) {
    this.log = opts.log ?? (() => {});
    this.cli = opts.cli ?? defaultCli();
    if (!existsSync(this.cli)) throw new NetnsError(`${this.cli} not found: run \`npm run build\` first`);
    this.runtimeDir = opts.runtimeDir ?? join(LAB_RUNTIME_ROOT, opts.prefix);
    const stale = removeStaleNamespaces(`${opts.prefix}-`);
    if (stale.length) this.log(`removed ${stale.length} stale namespaces: ${stale.join(' ')}`);
    rmSync(this.runtimeDir, { recursive: true, force: true });
    mkdirSync(join(this.runtimeDir, 'logs'), { recursive: true, mode: 0o700 });
    this.netns = new NetnsLab(opts.prefix);
    this.net = new LabNetwork(this.netns, [
      { name: 'a', cidr: '192.0.2.0/24', router: '192.0.2.254' },
      { name: 'b', cidr: '198.51.100.0/24', router: '198.51.100.254' },
    ] satisfies SegmentSpec[]);
    this.encapsulation = opts.encapsulation === 'vxlan' || opts.encapsulation === 'ipip' ? opts.encapsulation : this.detectIpip() ? 'ipip' : 'vxlan';
    this.api = new ApiControl(join(this.runtimeDir, 'api.sock'));
  }

  /** Builds the network, starts the API server and every agent/reflector. Destroys what it made on failure. */
  static async up(opts: LabOptions): Promise<PetrelLab> {
    const lab = new PetrelLab(opts);
    try {
      await lab.build();
      return lab;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  private detectIpip(): boolean {
    const ns = this.netns.ns('rtr');
    const r = this.netns.tryExec(ns, 'ip', ['link', 'add', 'petrelprobe', 'type', 'ipip', 'local', '192.0.2.254']);
    if (r.status === 0) this.netns.tryExec(ns, 'ip', ['link', 'del', 'petrelprobe']);
    return r.status === 0;
  }

  private async build(): Promise<void> {
    const specs = this.opts.nodes ?? DEMO_NODES;
    this.log(`building the network (prefix ${this.opts.prefix}, ${this.encapsulation} CrossSubnet)`);
    this.apiNs = this.net.addHost({ ...API_HOST });
    for (const s of specs) {
      const ns = this.net.addHost(s);
      const n: LabNode = { ...s, ns, log: join(this.runtimeDir, 'logs', `${s.name}.log`), blockAssigned: s.role === 'agent' && !s.withoutBlock };
      if (s.role === 'agent') {
        n.block = blockOf(this.blocks++);
      }
      this.nodes.set(s.name, n);
    }
    await this.startApiServer();
    this.writeKubeconfig();
    await this.createObjects();
    for (const n of this.nodes.values()) if (n.role === 'agent') await this.installCni(n.name);
    for (const n of this.nodes.values()) this.startNode(n.name);
    this.saveState();
    // Pods come as on a real node: the runtime calls the CNI plugin, which answers 11 "try again
    // later" until the node's agent can wire pods; then the Pod's status carries the address.
    await Promise.all([...this.nodes.values()].filter((n) => n.role === 'agent' && n.blockAssigned).map(async (n) => {
      for (let j = 0; j < (this.opts.podsPerNode ?? 2); j++) await this.addPod(n.name);
    }));
    this.pods.sort((a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name));
  }

  // ---- CNI ---------------------------------------------------------------------------------------------

  cniDirs(node: string): LabCniDirs {
    const base = join(this.runtimeDir, 'cni', node);
    return { bin: join(base, 'bin'), conf: join(base, 'net.d'), state: join(base, 'state'), run: join(base, 'run') };
  }

  get cniPlugin(): string {
    return resolve(dirname(this.cli), '..', 'native', 'build', 'petrel-cni');
  }

  /** `petrel install-cni` for a node, with the node's own directories. */
  async installCni(node: string): Promise<void> {
    const d = this.cniDirs(node);
    const r = await sh(process.execPath, [this.cli, 'install-cni', '--bin-dir', d.bin, '--conf-dir', d.conf, '--state-dir', d.state, '--run-dir', d.run, '--plugin', this.cniPlugin]);
    if (r.status !== 0) throw new NetnsError(`install-cni for ${node}: ${r.stderr.trim() || r.stdout.trim()}`);
  }

  /** The network configuration the runtime hands the plugin: the conflist's first plugin with its name and version. */
  netconf(node: string): Obj {
    const list = JSON.parse(readFileSync(join(this.cniDirs(node).conf, '10-petrel.conflist'), 'utf8')) as Obj;
    return { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
  }

  /** Runs the node's installed plugin executable as a runtime does: CNI_* environment, config on stdin. */
  cni(node: string, env: Record<string, string>, stdin: string): Promise<{ status: number; stdout: string; stderr: string }> {
    const d = this.cniDirs(node);
    return new Promise((res) => {
      const child = execFile(join(d.bin, 'petrel'), [], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_PATH: d.bin, ...env } }, (err, stdout, stderr) => {
        res({ status: err ? ((err as { code?: number }).code ?? 1) as number : 0, stdout: String(stdout), stderr: String(stderr) });
      });
      child.stdin?.end(stdin);
    });
  }

  /** ADD with the kubelet's patience for code 11 ("try again later"), bounded. */
  private async cniAdd(node: string, env: Record<string, string>, timeoutMs = 60_000): Promise<Obj> {
    const stdin = JSON.stringify(this.netconf(node));
    const until = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const r = await this.cni(node, { ...env, CNI_COMMAND: 'ADD' }, stdin);
      let out: Obj = {};
      try { out = JSON.parse(r.stdout) as Obj; } catch { /* reported below */ }
      if (r.status === 0) return out;
      if (out.code !== 11 || Date.now() > until || attempt > 600) {
        throw new NetnsError(`CNI ADD on ${node} failed (exit ${r.status}): ${r.stdout.trim() || r.stderr.trim()}`);
      }
      await new Promise((w) => setTimeout(w, 200));
    }
  }

  // ---- API server ----------------------------------------------------------------------------------

  private async startApiServer(): Promise<void> {
    const control = this.api.path;
    writeFileSync(this.tokenFile(), this.token, { mode: 0o600 });
    const out = openSync(join(this.runtimeDir, 'logs', 'api.log'), 'a');
    this.apiProc = this.netns.spawn('api', this.apiNs, process.execPath, [
      this.cli, 'lab', 'apiserver', '--listen', `${API_HOST.address}:${API_PORT}`, '--token-file', this.tokenFile(), '--control', control,
    ], { stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    await waitFor('the API server control channel', async () => {
      if (this.apiProc!.child.exitCode !== null) throw new NetnsError(`API server exited: ${this.readLog('api')}`);
      try { await this.api.connect(); return true; } catch { return false; }
    }, 20_000, 100);
  }

  private tokenFile(): string {
    return join(this.runtimeDir, 'token');
  }

  get kubeconfig(): string {
    return join(this.runtimeDir, 'kubeconfig');
  }

  get apiUrl(): string {
    return `http://${API_HOST.address}:${API_PORT}`;
  }

  private writeKubeconfig(): void {
    writeFileSync(this.kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: lab',
      'clusters:', '- name: lab', '  cluster:', `    server: ${this.apiUrl}`,
      'users:', '- name: lab', '  user:', `    tokenFile: ${this.tokenFile()}`,
      'contexts:', '- name: lab', '  context:', '    cluster: lab', '    user: lab', '',
    ].join('\n'), { mode: 0o600 });
  }

  private async createObjects(): Promise<void> {
    const crdDir = resolve(dirname(this.cli), '../deploy/base/crds');
    for (const f of readdirSync(crdDir).filter((x) => x.endsWith('.yaml')).sort()) {
      for (const doc of parseAllDocuments(readFileSync(join(crdDir, f), 'utf8'))) {
        const obj = doc.toJSON() as Obj | null;
        if (obj) await this.api.create(obj);
      }
    }
    await this.api.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { asNumber: AS_NUMBER, nodeToNodeMesh: false, listenPort: 179, gracefulRestart: { enabled: true, restartTime: 120 } } });
    await this.api.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPPeer', metadata: { name: 'rr-clients' }, spec: { nodeSelector: '!has(petrel.dev/route-reflector)', peerSelector: 'has(petrel.dev/route-reflector)' } });
    await this.api.create({ apiVersion: 'petrel.dev/v1', kind: 'BGPPeer', metadata: { name: 'rr-mesh' }, spec: { nodeSelector: 'has(petrel.dev/route-reflector)', peerSelector: 'has(petrel.dev/route-reflector)' } });
    const enc = this.encapsulation === 'ipip' ? { ipipMode: 'CrossSubnet', vxlanMode: 'Never' } : { ipipMode: 'Never', vxlanMode: 'CrossSubnet' };
    await this.api.create({ apiVersion: 'petrel.dev/v1', kind: 'IPPool', metadata: { name: 'lab-pods' }, spec: { cidr: POOL_CIDR, blockSize: 26, natOutgoing: false, ...enc } });
    for (const n of this.nodes.values()) await this.api.create(this.nodeObject(n));
  }

  nodeObject(n: LabNode): Obj {
    const labels: Record<string, string> = { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' };
    const annotations: Record<string, string> = { 'petrel.dev/bgp-ipv4-address': `${n.address}/24` };
    if (n.role === 'reflector') {
      labels['petrel.dev/route-reflector'] = 'true';
      annotations['petrel.dev/route-reflector-cluster-id'] = CLUSTER_ID;
    }
    return {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name: n.name, labels, annotations },
      spec: n.block && n.blockAssigned ? { podCIDR: n.block, podCIDRs: [n.block] } : {},
      status: { addresses: [{ type: 'InternalIP', address: n.address }, { type: 'Hostname', address: n.name }] },
    };
  }

  /** Gives a node created `withoutBlock` its pod block (an update of the Node's spec.podCIDRs). */
  async assignBlock(name: string): Promise<void> {
    const n = this.node(name);
    if (!n.block || n.blockAssigned) throw new NetnsError(`${name} has no block to assign`);
    const cur = await this.api.get('v1', 'Node', name);
    if (!cur) throw new NetnsError(`Node ${name} does not exist`);
    n.blockAssigned = true;
    await this.api.update({ ...cur, spec: { ...cur.spec, podCIDR: n.block, podCIDRs: [n.block] } });
  }

  // ---- pods ------------------------------------------------------------------------------------------

  /**
   * A pod on `node`, the way kubelet and a container runtime make one: the Pod object, an empty
   * network namespace, the CNI plugin's ADD (the node's installed executable, which hands it to the
   * node's agent), then status.podIP(s) from the plugin's result.
   */
  async addPod(node: string, name?: string): Promise<LabPod> {
    const n = this.node(node);
    if (!n.block || !n.blockAssigned) throw new NetnsError(`${node} has no pod block`);
    const podName = name ?? `${node}p${this.pods.filter((p) => p.node === node).length + 1}`;
    const namespace = 'default';
    const created = await this.api.create({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace, labels: { app: 'lab' } },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'lab' }] },
    });
    const ns = this.net.addPodNs(node, namespace, podName);
    const containerId = `lab${randomBytes(12).toString('hex')}`;
    const t0 = Date.now();
    const result = await this.cniAdd(node, {
      CNI_CONTAINERID: containerId, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0',
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${podName};K8S_POD_INFRA_CONTAINER_ID=${containerId}`,
    });
    const ips = ((result.ips ?? []) as Obj[]).map((i) => String(i.address).split('/')[0]);
    if (ips.length === 0) throw new NetnsError(`CNI ADD on ${node} gave no address: ${JSON.stringify(result)}`);
    const pod: LabPod = { namespace, name: podName, node, ip: ips[0], ns, containerId, result };
    this.log(`${node}: CNI ADD ${namespace}/${podName} → ${ips.join(', ')} on ${String((result.interfaces as Obj[] | undefined)?.[0]?.name)} (${Date.now() - t0} ms, retries included)`);
    this.pods.push(pod);
    await this.api.updateStatus({ ...created, status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), hostIP: n.address } });
    return pod;
  }

  /** Removes a pod as kubelet does: CNI DEL, the namespace, then the Pod object. */
  async removePod(name: string): Promise<void> {
    const i = this.pods.findIndex((p) => p.name === name);
    if (i < 0) throw new NetnsError(`no lab pod ${name}`);
    const p = this.pods[i];
    const r = await this.cni(p.node, { CNI_COMMAND: 'DEL', CNI_CONTAINERID: p.containerId, CNI_NETNS: `/run/netns/${p.ns}`, CNI_IFNAME: 'eth0', CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace};K8S_POD_NAME=${p.name}` }, JSON.stringify(this.netconf(p.node)));
    if (r.status !== 0) throw new NetnsError(`CNI DEL of ${name}: ${r.stdout.trim() || r.stderr.trim()}`);
    this.netns.deleteNs(p.ns);
    this.net.forgetPod(p.namespace, p.name);
    this.pods.splice(i, 1);
    await this.api.delete('v1', 'Pod', p.name, p.namespace);
  }

  // ---- processes -------------------------------------------------------------------------------------

  node(name: string): LabNode {
    const n = this.nodes.get(name);
    if (!n) throw new NetnsError(`no lab node ${name}`);
    return n;
  }

  /** Starts (or restarts) the agent or reflector of `name`. */
  startNode(name: string): LabProcess {
    const n = this.node(name);
    const args = [
      this.cli, n.role, '--node-name', n.name, '--kubeconfig', this.kubeconfig,
      '--metrics-address', `${n.address}:${METRICS_PORT}`, '--health-address', `${n.address}:${HEALTH_PORT}`,
      '--status-address', STATUS_ADDRESS, '--connect-retry', '1', '--ready-grace', '15', '--watch-backoff-max', '2',
      ...(n.role === 'agent' ? ['--netns', n.ns, '--protocol', String(PETREL_PROTOCOL), '--state-dir', this.cniDirs(n.name).state, '--run-dir', this.cniDirs(n.name).run] : []),
      ...(this.opts.agentArgs ?? []),
    ];
    const out = openSync(n.log, 'a');
    const flags = this.opts.nodeFlags?.(n.name) ?? [];
    n.proc = this.netns.spawn(n.name, n.ns, process.execPath, [...flags, ...args], { stdio: ['ignore', out, out], detached: true, env: { ...process.env, PETREL_REQUIRE_NETNS: '1' } });
    closeSync(out);
    if (!this.destroyed) this.saveState();
    return n.proc;
  }

  /** Stops the process of `name` (SIGTERM, then SIGKILL) or kills it at once. */
  async stopNode(name: string, how: 'term' | 'kill' = 'term'): Promise<void> {
    const p = this.node(name).proc;
    if (!p) return;
    if (how === 'kill') {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    } else await this.netns.stop(p, 5000);
  }

  readLog(name: string, tail = 4000): string {
    try { return readFileSync(join(this.runtimeDir, 'logs', `${name}.log`), 'utf8').slice(-tail); } catch { return ''; }
  }

  /** Runs the built CLI inside a namespace (e.g. `petrel status --json`). */
  cliIn(ns: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    return sh('ip', ['netns', 'exec', ns, process.execPath, this.cli, ...args]);
  }

  async status(node: string): Promise<Obj> {
    const r = await this.cliIn(this.node(node).ns, ['status', '--json']);
    if (r.status !== 0) throw new NetnsError(`petrel status on ${node}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as Obj;
  }

  /** Petrel's kernel routes in a node (`ip -j route show proto 97`). */
  async routes(node: string): Promise<Obj[]> {
    const r = await sh('ip', ['-n', this.node(node).ns, '-j', 'route', 'show', 'proto', String(PETREL_PROTOCOL)]);
    return r.status === 0 && r.stdout.trim() ? JSON.parse(r.stdout) as Obj[] : [];
  }

  async routesText(node: string): Promise<string> {
    return (await sh('ip', ['-n', this.node(node).ns, 'route', 'show', 'proto', String(PETREL_PROTOCOL)])).stdout;
  }

  /** An HTTP GET from inside a namespace (curl), e.g. a node's /metrics. */
  async httpGet(ns: string, url: string): Promise<{ status: number; body: string }> {
    const r = await sh('ip', ['netns', 'exec', ns, 'curl', '-s', '-m', '5', '-w', '\n%{http_code}', url]);
    const i = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(i + 1)) || 0, body: r.stdout.slice(0, i) };
  }

  async ping(fromNs: string, ip: string, count = 1): Promise<boolean> {
    return (await this.pingWhy(fromNs, ip, count)).ok;
  }

  /** A ping and, when it fails, why ('no reply', or ping's own error such as a missing ping binary). */
  async pingWhy(fromNs: string, ip: string, count = 1): Promise<{ ok: boolean; why?: string }> {
    const r = await sh('ip', ['netns', 'exec', fromNs, 'ping', '-c', String(count), '-W', '1', '-q', ip]);
    return r.status === 0 ? { ok: true } : { ok: false, why: pingFailureReason(r.status, r.stderr) };
  }

  /** Every pod pings every other pod (in parallel, one echo each); returns the failures too, each with why. */
  async pingMatrix(): Promise<{ rows: Array<{ from: string; to: string; ok: boolean; why?: string }>; failures: number }> {
    const rows = await Promise.all(this.pods.flatMap((a) => this.pods.filter((b) => b !== a).map(async (b) => {
      let r = await this.pingWhy(a.ns, b.ip);
      if (!r.ok) r = await this.pingWhy(a.ns, b.ip); // one retry: the first packet may wait for ARP/FDB
      return { from: a.name, to: b.name, ...r };
    })));
    return { rows, failures: rows.filter((r) => !r.ok).length };
  }

  /** The reasons of the failed pings, one line each with how many pairs it explains. */
  pingFailures(rows: Array<{ from: string; to: string; ok: boolean; why?: string }>): string[] {
    const by = new Map<string, string[]>();
    for (const r of rows) if (!r.ok) by.set(r.why ?? 'unknown', [...(by.get(r.why ?? 'unknown') ?? []), `${r.from}->${r.to}`]);
    return [...by].map(([why, pairs]) => `${pairs.length} failed (${pairs.slice(0, 3).join(', ')}${pairs.length > 3 ? ', ...' : ''}): ${why}`);
  }

  renderMatrix(rows: Array<{ from: string; to: string; ok: boolean }>): string {
    const names = this.pods.map((p) => p.name);
    const w = Math.max(8, ...names.map((n) => n.length)) + 1;
    const head = `${'from\\to'.padEnd(w)}${names.map((n) => n.padEnd(w)).join('')}`;
    const lines = names.map((a) => `${a.padEnd(w)}${names.map((b) => (a === b ? '-' : rows.find((r) => r.from === a && r.to === b)?.ok ? 'ok' : 'FAIL').padEnd(w)).join('')}`);
    return [head, ...lines].join('\n');
  }

  /** The routes every agent must hold: every other agent node's block (proto 97). */
  async missingBlockRoutes(): Promise<string[]> {
    const agents = [...this.nodes.values()].filter((n) => n.role === 'agent' && n.proc);
    const missing: string[] = [];
    await Promise.all(agents.map(async (n) => {
      const have = new Set((await this.routes(n.name)).map((r) => r.dst as string));
      for (const o of agents) if (o !== n && o.block && o.blockAssigned && !have.has(o.block)) missing.push(`${n.name} lacks ${o.block} (${o.name})`);
      for (const p of this.pods) if (p.node === n.name && !have.has(p.ip)) missing.push(`${n.name} lacks pod ${p.ip}`);
    }));
    return missing;
  }

  /** Peers of `node` that are not Established (empty when all are). */
  async peersNotEstablished(node: string): Promise<string[]> {
    const s = await this.status(node);
    const peers = (s.peers ?? []) as Obj[];
    if (peers.length === 0) return ['(no peers yet)'];
    return peers.filter((p) => p.state !== 'Established').map((p) => `${p.address} ${p.state}`);
  }

  /** Waits until every session is Established, every block route is in place and every pod answers. */
  async waitConverged(timeoutMs = 60_000): Promise<void> {
    const running = [...this.nodes.values()].filter((n) => n.proc);
    // Kernel routes first (cheap `ip` calls), then the sessions: each status check starts one
    // `petrel status` process per node, which on a 50-node lab is itself a load worth pacing.
    await waitFor('every block and pod route in the kernels', async () => {
      const m = await this.missingBlockRoutes();
      if (m.length) throw new NetnsError(m.join('; '));
      return true;
    }, timeoutMs, 100);
    await waitFor('every BGP session Established', async () => {
      const bad = (await Promise.all(running.map(async (n) => (await this.peersNotEstablished(n.name).catch((e: Error) => [e.message])).map((x) => `${n.name}: ${x}`)))).flat();
      if (bad.length) throw new NetnsError(bad.join('; '));
      return true;
    }, timeoutMs, Math.max(250, running.length * 20));
  }

  // ---- state and teardown ----------------------------------------------------------------------------

  saveState(): void {
    const st: LabState = {
      prefix: this.opts.prefix, runtimeDir: this.runtimeDir, control: this.api.path,
      namespaces: [...this.netns.namespacesMade()],
      processes: [this.apiProc, ...[...this.nodes.values()].map((n) => n.proc)].filter((p): p is LabProcess => !!p && p.child.exitCode === null && p.child.signalCode === null).map((p) => ({ name: p.name, pid: p.pid })),
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(this.runtimeDir, 'state.json'), `${JSON.stringify(st, null, 2)}\n`);
  }

  /** Lets processes outlive this controller (`--keep`): drops our handles without stopping anything. */
  detach(): void {
    this.api.close();
    for (const p of [this.apiProc, ...[...this.nodes.values()].map((n) => n.proc)]) p?.child.unref();
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.api.close();
    await this.netns.destroy();
    rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}

/** Labs recorded under the runtime root (`petrel lab status|down`). */
export function recordedLabs(root = LAB_RUNTIME_ROOT): LabState[] {
  if (!existsSync(root)) return [];
  const out: LabState[] = [];
  for (const d of readdirSync(root)) {
    try { out.push(JSON.parse(readFileSync(join(root, d, 'state.json'), 'utf8')) as LabState); } catch { /* not a lab */ }
  }
  return out;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Tears down a lab from its state file: processes by PID (TERM, then KILL), namespaces by prefix. */
export async function downFromState(st: LabState): Promise<{ processes: number; namespaces: string[] }> {
  let stopped = 0;
  for (const p of st.processes) {
    if (!alive(p.pid)) continue;
    try { process.kill(p.pid, 'SIGTERM'); stopped++; } catch { /* gone */ }
  }
  for (let i = 0; i < 50 && st.processes.some((p) => alive(p.pid)); i++) await new Promise((r) => setTimeout(r, 100));
  for (const p of st.processes) if (alive(p.pid)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  const namespaces = removeStaleNamespaces(`${st.prefix}-`);
  rmSync(st.runtimeDir, { recursive: true, force: true });
  return { processes: stopped, namespaces };
}
