/**
 * A node for the CNI plugin's spec tests, driven exactly as a container runtime drives a plugin:
 * the built executable (native/build/petrel-cni) run with the CNI_* environment and the network
 * configuration on stdin. Behind it, in this process, the agent's side: the socket server, the
 * plugin's verbs, the IPAM store in a temporary state directory, the pod veth code and a real
 * Dataplane programming the node's namespace (its local-pod routes get the attachments, as the
 * agent's do).
 *
 *   node ns: eth0 192.0.2.11/24 (MTU 1500) ── peer ns: eth0 192.0.2.1/24;  VXLAN on (pod MTU 1450)
 *
 * Everything lives under one unique namespace prefix and one temporary directory; destroy() stops the
 * dataplane, closes the server and deletes both.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, removeStaleNamespaces, uniquePrefix } from '../../src/lab/netns.js';
import { createDataplane, containerVethName, hostVethName, PodNetwork, type Dataplane } from '../../src/dataplane/index.js';
import { CniPlugin, type PodRoute } from '../../src/cni/plugin.js';
import { IpamStore } from '../../src/cni/ipam.js';
import { CniServer } from '../../src/cni/server.js';

export const PLUGIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', 'build', 'petrel-cni');
export const PROTO = 97;
export const NODE_ADDRESS = '192.0.2.11';

export interface Run { status: number; stdout: string; stderr: string; json: Record<string, any> } // eslint-disable-line @typescript-eslint/no-explicit-any

const quiet = { info() {}, warn() {}, debug() {}, error() {} };

export class CniNode {
  readonly lab: NetnsLab;
  readonly node: string;
  readonly dir: string;
  readonly stateDir: string;
  readonly runDir: string;
  dp!: Dataplane;
  plugin!: CniPlugin;
  pods!: PodNetwork;
  /** What the "agent" holds as live Pod addresses (CniHost.livePodIps). */
  live: Set<string> | undefined = new Set();
  private server: CniServer | undefined;
  private readonly routes = new Map<string, PodRoute[]>();
  private podSeq = 0;

  constructor(tag: string, readonly blocks: string[], private readonly graceMs = 60_000) {
    removeStaleNamespaces(tag);
    this.lab = new NetnsLab(uniquePrefix(tag));
    this.dir = mkdtempSync(join(tmpdir(), 'petrel-cni-'));
    this.stateDir = join(this.dir, 'state');
    this.runDir = join(this.dir, 'run');
    this.node = this.lab.addNs('node');
    const peer = this.lab.addNs('peer');
    this.lab.veth(this.node, 'eth0', peer, 'eth0', 1500);
    this.lab.addr(this.node, 'eth0', `${NODE_ADDRESS}/24`);
    this.lab.addr(peer, 'eth0', '192.0.2.1/24');
    this.lab.addr(this.node, 'eth0', '2001:db8:ff::11/64');
    this.lab.addr(peer, 'eth0', '2001:db8:ff::1/64');
  }

  static async up(tag: string, block: string | string[], graceMs?: number): Promise<CniNode> {
    const n = new CniNode(tag, Array.isArray(block) ? block : [block], graceMs);
    try {
      n.dp = createDataplane({ netns: n.node, uplink: 'eth0', nodeAddress: NODE_ADDRESS, nodeName: 'node', protocol: PROTO, debounceMs: 5, graceMs: 2000, log: quiet });
      n.dp.setTunnels({ vxlan: { vni: 4096 } });
      n.dp.setLocalBlocks(n.blocks.map((prefix) => ({ prefix, natOutgoing: false })));
      await n.dp.start();
      await n.startAgent();
      return n;
    } catch (e) {
      await n.destroy();
      throw e;
    }
  }

  /** The agent's side of the socket: a fresh IPAM store loaded from disk, verbs, server; then recover(). */
  async startAgent(): Promise<void> {
    const ipam = new IpamStore(this.stateDir);
    await ipam.load();
    this.pods = new PodNetwork({ netns: this.node });
    const dp = this.dp;
    this.plugin = new CniPlugin({
      stateDir: this.stateDir, ipam, pods: this.pods, log: quiet, graceMs: this.graceMs,
      host: {
        node: () => ({ ready: true, podCidrs: this.blocks, mtu: dp.podMtu!() ?? 1500 }),
        attach: async (k, rs) => {
          this.routes.set(k, rs);
          dp.setLocalPods([...this.routes.values()].flat());
          dp.linksChanged!();
          const rep = await dp.apply();
          const stuck = rs.filter((r) => rep.pending.includes(r.prefix));
          if (stuck.length) throw new Error(`pending: ${stuck.map((r) => r.prefix).join(', ')}`);
        },
        detach: (k) => {
          if (!this.routes.delete(k)) return;
          dp.setLocalPods([...this.routes.values()].flat());
          void dp.apply();
        },
        livePodIps: () => this.live,
      },
      veths: { forPod: (ns, name) => hostVethName(ns, name), forContainer: (id, ifn) => containerVethName(id, ifn) },
    });
    this.server = new CniServer({ socketPath: join(this.runDir, 'cni.sock'), handle: (r) => this.plugin.handle(r), log: quiet });
    await this.server.start();
    await this.plugin.recover();
  }

  /** The agent goes away (its socket with it); the dataplane and kernel state stay, as on a real node. */
  async stopAgent(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.pods?.close();
  }

  conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { cniVersion: '1.1.0', name: 'petrel', type: 'petrel', runDir: this.runDir, stateDir: this.stateDir, ...extra };
  }

  /** A fresh, empty pod namespace (what a runtime makes before ADD). */
  podNs(): string {
    return this.lab.addNs(`p${this.podSeq++}`);
  }

  /** Runs the executable as a runtime does; `stdin` defaults to conf(). */
  run(env: Record<string, string>, stdin: string | Record<string, unknown> = this.conf(), opts: { wrap?: string[] } = {}): Promise<Run> {
    return runPlugin(env, typeof stdin === 'string' ? stdin : JSON.stringify(stdin), opts.wrap);
  }

  add(ns: string, containerId: string, args = '', conf: Record<string, unknown> = this.conf()): Promise<Run> {
    return this.run({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', ...(args ? { CNI_ARGS: args } : {}) }, conf);
  }

  del(ns: string | undefined, containerId: string, args = ''): Promise<Run> {
    return this.run({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: containerId, CNI_NETNS: ns ? `/run/netns/${ns}` : '', CNI_IFNAME: 'eth0', ...(args ? { CNI_ARGS: args } : {}) });
  }

  /** Petrel's routes in the node (`ip -j route show proto 97`). */
  hostRoutes(): Array<{ dst: string; dev?: string; type?: string }> {
    return JSON.parse(this.lab.ip(this.node, '-j', 'route', 'show', 'proto', String(PROTO)) || '[]');
  }

  links(ns = this.node): Array<{ ifname: string; mtu: number; operstate: string; flags: string[]; address: string }> {
    return JSON.parse(this.lab.ip(ns, '-j', 'link', 'show'));
  }

  async destroy(): Promise<void> {
    await this.stopAgent().catch(() => undefined);
    await this.dp?.stop().catch(() => undefined);
    await this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function runPlugin(env: Record<string, string>, stdin: string, wrap: string[] = []): Promise<Run> {
  return new Promise((res) => {
    const cmd = wrap.length ? wrap[0] : PLUGIN;
    const args = wrap.length ? [...wrap.slice(1), PLUGIN] : [];
    const child = spawn(cmd, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_PATH: dirname(PLUGIN), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: Record<string, unknown> = {};
      try { json = stdout.trim() ? JSON.parse(stdout) as Record<string, unknown> : {}; } catch { json = { unparsable: stdout }; }
      res({ status: code ?? -1, stdout, stderr, json });
    });
  });
}
