/**
 * A real container runtime drives the petrel CNI plugin (issue 11, item 6): Debian's containerd and
 * `ctr run --cni`, no Petrel code between the runtime and the executable in the node's bin directory.
 *
 * Shape: a lab (PetrelLab: agents n1, n2 in subnet a, n3 in subnet b behind a router, VXLAN
 * CrossSubnet). One containerd per runtime node (n1 and n3), each started with
 * `nsenter --net=/run/netns/NODE` (not `ip netns exec`: it remounts /sys, and runc then finds no
 * cgroup mount) and its own --root, --state and socket under this test's temporary directory, in a
 * private mount namespace where /run/containerd (the shims' sockets, runc's state: fixed paths in
 * containerd 1.6) is a directory of this test. `ctr` reads CNI configuration from /etc/cni/net.d and
 * plugins from /opt/cni/bin with no way to point it elsewhere, so every `ctr run --cni` runs in its
 * own private mount namespace (unshare -m) where the node's conflist and bin directories (the ones
 * `petrel install-cni` filled for that node) are bind-mounted over those paths, and libcni's cache
 * (/var/lib/cni) over a test directory. Where a path does not exist on the host, an overlay of its
 * nearest existing parent (upper layer in the test's directory) holds the mount point, so the host's
 * /etc/cni, /opt/cni and /var/lib/cni are never written. The image is a directory: busybox-static
 * and its applets (`ctr run --rootfs DIR`), nothing pulled.
 *
 * hostPort: `ctr run --cni` calls go-cni's Setup with no options, so it never passes
 * runtimeConfig.portMappings (containerd's CRI plugin does, ctr does not). The portmap plugin chained
 * in the conflist therefore runs with no mappings on ctr's ADD. The hostPort check invokes the same
 * portmap executable from the node's bin directory the way libcni invokes a chained plugin: CNI_*
 * environment, the conflist's portmap entry with runtimeConfig.portMappings and, as prevResult, the
 * result libcni cached for the container's ADD — in the node's network namespace, as ctr ran it.
 *
 * Removal: the `ctr run --rm --cni` process calls go-cni's Remove (CNI DEL, with an empty CNI_NETNS)
 * when the task exits; the test kills the task and checks that the allocation file, the host veth and
 * the host route are gone. The last test stops both containerds by PID and checks that nothing is left
 * (processes, shims, cgroups, namespaces, files); `after` repeats the teardown if a test failed first.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PetrelLab } from '../../src/lab/lab.js';
import { hasCommand, waitFor } from '../../src/lab/netns.js';
import { prefixContains } from '../../src/model/ip.js';
import { skipReason as labSkip, startLab } from '../lab/helpers.js';

const PREFIX = 'ptcd';
const REF_CNI = '/usr/lib/cni';
const BUSYBOX = '/bin/busybox';
const HOST_PORT = 18080;
const CONTAINER_PORT = 8080;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Whether an ELF executable has no program interpreter (is statically linked). */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false; // ELF64 only
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

function missingTools(): string[] {
  const miss = ['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2', 'nsenter', 'unshare', 'iptables', 'curl'].filter((c) => !hasCommand(c));
  for (const p of ['portmap', 'loopback']) if (!existsSync(join(REF_CNI, p))) miss.push(`${REF_CNI}/${p} (containernetworking-plugins)`);
  if (!existsSync(BUSYBOX)) miss.push(`${BUSYBOX} (busybox-static)`);
  else if (!isStaticElf(BUSYBOX)) miss.push(`a static ${BUSYBOX} (busybox-static, not busybox)`);
  return miss;
}

const missing = labSkip ? [] : missingTools();
const required = process.env.PETREL_CONTAINERD_REQUIRED === '1';
const skipReason: string | false = labSkip
  ? labSkip
  : missing.length && !required ? `containerd test needs ${missing.join(', ')} (CI installs them; PETREL_CONTAINERD_REQUIRED=1 makes this a failure)` : false;

function sh(cmd: string, args: string[], timeoutMs = 30_000, input?: string, env?: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 4 << 20, ...(env ? { env } : {}) }, (err, stdout, stderr) => {
      res({ status: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The wrapper every runtime process starts through, inside `unshare -m` (private mounts): bind-mounts
 * each SRC over TARGET — over an overlay of TARGET's nearest existing parent when TARGET does not
 * exist on the host (the upper layer lives in WORKDIR, so the host's tree stays untouched) — then
 * execs the command.
 */
const WRAP = `#!/bin/sh
# usage: wrap.sh WORKDIR TARGET=SRC ... -- COMMAND ARG...
set -eu
work=$1; shift
n=0
while [ "$1" != "--" ]; do
  target=\${1%%=*}; src=\${1#*=}; shift
  if [ ! -d "$target" ]; then
    anc=$(dirname "$target")
    while [ ! -d "$anc" ]; do anc=$(dirname "$anc"); done
    n=$((n + 1)); mkdir -p "$work/ov$n/upper" "$work/ov$n/work"
    mount -t overlay overlay -o "lowerdir=$anc,upperdir=$work/ov$n/upper,workdir=$work/ov$n/work" "$anc"
    mkdir -p "$target"
  fi
  mount --bind "$src" "$target"
done
shift
exec "$@"
`;

/** One containerd in a lab node's network namespace, and `ctr` against it. */
class NodeRuntime {
  readonly dir: string;
  readonly address: string;
  readonly cache: string;
  proc?: ChildProcess;
  private readonly runs = new Map<string, { child: ChildProcess; exited: Promise<void>; out: () => string }>();

  constructor(readonly lab: PetrelLab, readonly node: string, readonly base: string, readonly namespace: string) {
    this.dir = join(base, node);
    this.address = join(this.dir, 'c.sock');
    this.cache = join(this.dir, 'cni-cache');
    for (const d of ['root', 'state', 'run', 'fifo', 'cni-cache', 'mnt']) mkdirSync(join(this.dir, d), { recursive: true });
  }

  get netnsPath(): string {
    return `/var/run/netns/${this.lab.node(this.node).ns}`;
  }

  async start(): Promise<void> {
    const cfg = join(this.dir, 'config.toml');
    writeFileSync(cfg, [
      'version = 2',
      `root = "${join(this.dir, 'root')}"`,
      `state = "${join(this.dir, 'state')}"`,
      // CRI would read the host's CNI directories; opt would create /opt/containerd.
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]', `  address = "${this.address}"`,
      '[ttrpc]', `  address = "${this.address}.ttrpc"`,
      '', ].join('\n'));
    const log = openSync(join(this.dir, 'containerd.log'), 'a');
    this.proc = spawn('nsenter', [`--net=${this.netnsPath}`, 'unshare', '-m', '--propagation', 'private',
      'sh', join(this.base, 'wrap.sh'), join(this.dir, 'mnt'), `/run/containerd=${join(this.dir, 'run')}`, '--',
      'containerd', '--config', cfg, '--log-level', 'info'], { stdio: ['ignore', log, log] });
    closeSync(log);
    await waitFor(`containerd in ${this.node} to answer on ${this.address}`, async () => {
      if (this.proc!.exitCode !== null) throw new Error(`containerd in ${this.node} exited: ${this.log()}`);
      return (await this.ctr(['version'], 5000)).status === 0;
    }, 30_000, 200);
  }

  log(): string {
    try { return readFileSync(join(this.dir, 'containerd.log'), 'utf8').slice(-3000); } catch { return ''; }
  }

  ctr(args: string[], timeoutMs = 30_000): Promise<{ status: number; stdout: string; stderr: string }> {
    return sh('ctr', ['--address', this.address, '--namespace', this.namespace, ...args], timeoutMs);
  }

  /** The CNI container ID go-cni gives a ctr container: "<namespace>-<id>". */
  cniId(id: string): string {
    return `${this.namespace}-${id}`;
  }

  /**
   * `ctr run --rm --cni --rootfs ROOTFS ID CMD...` in the node's network namespace with the node's
   * CNI directories mounted where ctr looks for them; resolves once the task runs (after CNI ADD).
   */
  async run(id: string, rootfs: string, cmd: string[]): Promise<void> {
    const d = this.lab.cniDirs(this.node);
    let out = '';
    const child = spawn('nsenter', [`--net=${this.netnsPath}`, 'unshare', '-m', '--propagation', 'private',
      'sh', join(this.base, 'wrap.sh'), join(this.dir, 'mnt'),
      `/etc/cni/net.d=${d.conf}`, `/opt/cni/bin=${d.bin}`, `/var/lib/cni=${this.cache}`, '--',
      'ctr', '--address', this.address, '--namespace', this.namespace, 'run', '--rm', '--cni', '--null-io',
      '--fifo-dir', join(this.dir, 'fifo'), '--rootfs', rootfs, id, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.runs.set(id, { child, exited, out: () => out });
    await waitFor(`container ${id} running on ${this.node}`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ctr run ${id} exited: ${out.trim()}`);
      const ls = await this.ctr(['task', 'ls'], 10_000);
      return ls.stdout.split('\n').some((l) => l.split(/\s+/)[0] === id && /RUNNING/.test(l));
    }, 60_000, 200);
  }

  exec(id: string, cmd: string[], timeoutMs = 15_000): Promise<{ status: number; stdout: string; stderr: string }> {
    return this.ctr(['task', 'exec', '--exec-id', `e${randomBytes(4).toString('hex')}`, '--fifo-dir', join(this.dir, 'fifo'), id, ...cmd], timeoutMs);
  }

  async taskPid(id: string): Promise<number | undefined> {
    const ls = await this.ctr(['task', 'ls'], 10_000);
    const line = ls.stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
    const pid = line ? Number(line.split(/\s+/)[1]) : NaN;
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  }

  /** Ends a container the way an operator does (`ctr task kill`); `ctr run --rm` then runs CNI DEL and removes it. */
  async remove(id: string): Promise<string> {
    const r = this.runs.get(id);
    await this.ctr(['task', 'kill', '--signal', 'SIGKILL', id], 10_000);
    if (r) {
      const done = await Promise.race([r.exited.then(() => true), new Promise<boolean>((w) => setTimeout(() => w(false), 30_000).unref())]);
      if (!done) { r.child.kill('SIGKILL'); await r.exited; }
      this.runs.delete(id);
      return r.out();
    }
    return '';
  }

  /** Every task removed, containerd stopped by PID (TERM, then KILL), shims of this containerd gone. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      const ls = await this.ctr(['task', 'ls', '-q'], 10_000);
      for (const id of new Set([...ls.stdout.split('\n').filter(Boolean), ...this.runs.keys()])) {
        await this.remove(id);
        await this.ctr(['task', 'delete', '--force', id], 10_000);
        await this.ctr(['container', 'delete', id], 10_000);
      }
      const p = this.proc;
      const exited = new Promise<void>((r) => { if (p.exitCode !== null || p.signalCode !== null) r(); else p.once('exit', () => r()); });
      p.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((w) => setTimeout(() => w(false), 10_000).unref())]);
      if (!done) { p.kill('SIGKILL'); await exited; }
    }
    for (const r of this.runs.values()) { if (r.child.exitCode === null) r.child.kill('SIGKILL'); await r.exited; }
    this.runs.clear();
    // A shim outlives containerd by design; ours are the ones started with this containerd's address.
    for (const pid of shimPids(this.address)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

/** PIDs of containerd shims started with `-address ADDRESS` (read from /proc, so only ours). */
function shimPids(address: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string[] = [];
    try { cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    if (cmd[0]?.includes('containerd-shim') && cmd.includes(address)) out.push(Number(d));
  }
  return out;
}

function cgroupDirs(namespace: string): string[] {
  const root = '/sys/fs/cgroup';
  const out: string[] = [];
  const tops = existsSync(join(root, 'cgroup.controllers')) ? [''] : readdirSync(root);
  for (const t of tops) if (existsSync(join(root, t, namespace))) out.push(join(root, t, namespace));
  return out;
}

/** Empty cgroup directories runc left for this namespace's containers, leaf first (rmdir only: cgroupfs refuses a busy one). */
function removeCgroups(namespace: string): void {
  for (const top of cgroupDirs(namespace)) {
    let subs: string[] = [];
    try { subs = readdirSync(top, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(top, e.name)); } catch { /* gone */ }
    for (const s of subs) { try { rmdirSync(s); } catch { /* busy or gone */ } }
    try { rmdirSync(top); } catch { /* busy or gone */ }
  }
}

/** What the host holds at the paths a runtime writes by default (none of which the test may touch). */
function hostPaths(): Record<string, string[] | null> {
  const out: Record<string, string[] | null> = {};
  for (const p of ['/run/containerd', '/etc/cni', '/etc/cni/net.d', '/opt/cni', '/var/lib/cni', '/opt/containerd', '/var/lib/containerd']) {
    try { out[p] = readdirSync(p).sort(); } catch { out[p] = null; }
  }
  return out;
}

function makeRootfs(dir: string): void {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'www', 'run']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  for (const applet of ['sh', 'ip', 'ping', 'wget', 'httpd', 'sleep', 'cat']) symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
}

function allocations(lab: PetrelLab, node: string): Obj[] {
  const dir = join(lab.cniDirs(node).state, 'cni', 'allocations');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Obj);
}

/** What a failed reachability check needs for its report: the nodes' routes and links, pings from the nodes. */
async function diagnose(lab: PetrelLab, ips: Record<string, string>): Promise<string> {
  const out: string[] = [];
  for (const node of ['n1', 'n3']) {
    const ns = lab.node(node).ns;
    out.push(`--- ${node} routes\n${(await sh('ip', ['-n', ns, 'route'])).stdout}`);
    out.push(`--- ${node} links\n${(await sh('ip', ['-n', ns, '-br', 'link'])).stdout}`);
    for (const ip of Object.values(ips)) out.push(`--- ping ${ip} from ${node}: ${(await sh('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', ip])).stdout}`);
  }
  return out.join('\n');
}

describe('containerd and ctr run --cni through the petrel plugin', { skip: skipReason }, () => {
  let lab: PetrelLab | undefined;
  let base = '';
  const namespace = `${PREFIX}${randomBytes(3).toString('hex')}`;
  const runtimes = new Map<string, NodeRuntime>();
  const rootfs: Record<string, string> = {};
  const ips: Record<string, string> = {};
  let torn = false;
  let hostBefore: Record<string, string[] | null> = {};

  async function teardown(): Promise<void> {
    if (torn) return;
    torn = true;
    for (const rt of runtimes.values()) await rt.stop();
    removeCgroups(namespace);
  }

  before(async () => {
    if (missing.length) throw new Error(`PETREL_CONTAINERD_REQUIRED=1 but missing: ${missing.join(', ')}`);
    hostBefore = hostPaths();
    base = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
    writeFileSync(join(base, 'wrap.sh'), WRAP, { mode: 0o755 });
    lab = await startLab(PREFIX, { podsPerNode: 1 });
    for (const node of ['n1', 'n3']) {
      // portmap (hostPort) and loopback beside the plugin; install-cni again chains portmap.
      for (const p of ['portmap', 'loopback']) copyFileSync(join(REF_CNI, p), join(lab.cniDirs(node).bin, p));
      await lab.installCni(node);
      rootfs[node] = join(base, `rootfs-${node}`);
      makeRootfs(rootfs[node]);
      writeFileSync(join(rootfs[node], 'www', 'index.html'), `hello from ${node}\n`);
      const rt = new NodeRuntime(lab, node, base, namespace);
      runtimes.set(node, rt);
      await rt.start();
    }
  });

  after(async () => {
    await teardown().catch(() => undefined);
    await lab?.destroy();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('install-cni chained portmap after petrel for the runtime nodes', () => {
    for (const node of ['n1', 'n3']) {
      const list = JSON.parse(readFileSync(join(lab!.cniDirs(node).conf, '10-petrel.conflist'), 'utf8')) as Obj;
      assert.deepEqual((list.plugins as Obj[]).map((p) => p.type), ['petrel', 'portmap'], node);
      assert.deepEqual(list.plugins[1].capabilities, { portMappings: true });
    }
  });

  it('gives each container an address from its node\'s block (seen inside the container and in the node\'s state)', async () => {
    for (const node of ['n1', 'n3']) {
      const rt = runtimes.get(node)!;
      await rt.run('web', rootfs[node], ['/bin/httpd', '-f', '-p', String(CONTAINER_PORT), '-h', '/www']);
      const addr = await rt.exec('web', ['/bin/ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      assert.equal(addr.status, 0, addr.stderr);
      const m = /inet (\d+\.\d+\.\d+\.\d+)\/32/.exec(addr.stdout);
      assert.ok(m, `no /32 on eth0 in the container on ${node}: ${addr.stdout}`);
      ips[node] = m[1];
      assert.ok(prefixContains(lab!.node(node).block!, ips[node]), `${ips[node]} is not in ${node}'s block ${lab!.node(node).block}`);
      const mine = allocations(lab!, node).filter((a) => a.containerId === rt.cniId('web'));
      assert.deepEqual(mine.map((a) => a.ip), [ips[node]], `${node}'s state directory`);
      const route = await rt.exec('web', ['/bin/ip', '-4', 'route', 'show', 'default']);
      assert.match(route.stdout, /default via 169\.254\.1\.1 dev eth0/);
    }
    assert.notEqual(ips.n1, ips.n3);
  });

  it('reaches a container on a node in the other subnet through the tunnel, and a lab pod reaches it', async () => {
    const n1 = runtimes.get('n1')!;
    const n3 = runtimes.get('n3')!;
    let last = '';
    const body = await waitFor(`the container on n1 to fetch the n3 container's page at ${ips.n3}`, async () => {
      const r = await n1.exec('web', ['/bin/wget', '-q', '-O', '-', `http://${ips.n3}:${CONTAINER_PORT}/`]);
      last = `${r.stdout}${r.stderr}`;
      return r.status === 0 ? r.stdout : undefined;
    }, 30_000, 250).catch(async (e: Error) => { throw new Error(`${e.message}: ${last}\n${await diagnose(lab!, ips)}`); });
    assert.equal(body, 'hello from n3\n');
    const ping = await n3.exec('web', ['/bin/ping', '-c', '1', '-W', '2', ips.n1]);
    assert.equal(ping.status, 0, `${ping.stdout}${ping.stderr}`);
    const pod = lab!.pods.find((p) => p.node === 'n2')!;
    const fromPod = await lab!.httpGet(pod.ns, `http://${ips.n3}:${CONTAINER_PORT}/`);
    assert.equal(fromPod.body, 'hello from n3\n');
    // The other subnet is behind the tunnel in n1's kernel.
    const toN3 = (await lab!.routes('n1')).find((r) => r.dst === lab!.node('n3').block);
    assert.equal(toN3?.dev, lab!.encapsulation === 'vxlan' ? 'vxlan.petrel' : 'tunl0');
  });

  it('answers a hostPort mapping through the chained portmap plugin (invoked as libcni invokes it)', async () => {
    const rt = runtimes.get('n1')!;
    const id = rt.cniId('web');
    const d = lab!.cniDirs('n1');
    const list = JSON.parse(readFileSync(join(d.conf, '10-petrel.conflist'), 'utf8')) as Obj;
    // libcni's cache of ctr's ADD: the chain's result, which is portmap's prevResult.
    const cached = JSON.parse(readFileSync(join(rt.cache, 'results', `${list.name}-${id}-eth0`), 'utf8')) as Obj;
    const pid = await rt.taskPid('web');
    assert.ok(pid, 'the web task has a pid');
    const conf = JSON.stringify({
      cniVersion: list.cniVersion, name: list.name, ...list.plugins[1],
      runtimeConfig: { portMappings: [{ hostPort: HOST_PORT, containerPort: CONTAINER_PORT, protocol: 'tcp' }] },
      prevResult: cached.result,
    });
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_CONTAINERID: id, CNI_NETNS: `/proc/${pid}/ns/net`, CNI_IFNAME: 'eth0', CNI_PATH: d.bin };
    const portmap = (cmd: string) => sh('nsenter', [`--net=${rt.netnsPath}`, join(d.bin, 'portmap')], 30_000, conf, { ...env, CNI_COMMAND: cmd });
    const add = await portmap('ADD');
    assert.equal(add.status, 0, `portmap ADD: ${add.stdout}${add.stderr}`);
    const n3 = lab!.node('n3');
    const url = `http://${lab!.node('n1').address}:${HOST_PORT}/`;
    const got = await waitFor(`${url} from n3 through portmap`, async () => {
      const r = await lab!.httpGet(n3.ns, url);
      return r.status === 200 ? r.body : undefined;
    }, 20_000, 250);
    assert.equal(got, 'hello from n1\n');
    const del = await portmap('DEL');
    assert.equal(del.status, 0, `portmap DEL: ${del.stdout}${del.stderr}`);
    assert.equal((await lab!.httpGet(n3.ns, url)).status, 0, 'the hostPort still answers after portmap DEL');
  });

  it('releases the address when the container is removed (allocation file, host veth and host route gone)', async () => {
    for (const node of ['n1', 'n3']) {
      const rt = runtimes.get(node)!;
      const alloc = allocations(lab!, node).find((a) => a.containerId === rt.cniId('web'));
      assert.ok(alloc?.hostVeth, `${node}: allocation with a host veth`);
      const ns = lab!.node(node).ns;
      assert.equal((await sh('ip', ['-n', ns, 'link', 'show', alloc.hostVeth])).status, 0, `${node}: ${alloc.hostVeth} exists while the container runs`);
      const out = await rt.remove('web');
      assert.equal(allocations(lab!, node).filter((a) => a.containerId === rt.cniId('web')).length, 0, `${node}: allocation still on disk; ctr said: ${out}`);
      assert.ok(!existsSync(join(lab!.cniDirs(node).state, 'cni', 'allocations', ips[node])), `${node}: ${ips[node]} file`);
      assert.notEqual((await sh('ip', ['-n', ns, 'link', 'show', alloc.hostVeth])).status, 0, `${node}: ${alloc.hostVeth} still exists`);
      assert.ok(!(await lab!.routes(node)).some((r) => r.dst === ips[node]), `${node}: host route to ${ips[node]} still there`);
      const ls = await rt.ctr(['container', 'ls', '-q']);
      assert.equal(ls.stdout.trim(), '', `${node}: containers left: ${ls.stdout}`);
    }
  });

  it('stops containerd and leaves no process, shim, cgroup or mount behind', async () => {
    const pids = [...runtimes.values()].map((rt) => rt.proc!.pid!);
    await teardown();
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), `containerd ${pid} still runs`);
    for (const rt of runtimes.values()) assert.deepEqual(shimPids(rt.address), [], `shims of ${rt.node}`);
    assert.deepEqual(cgroupDirs(namespace), [], 'cgroup directories of the test\'s containerd namespace');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(base), 'a mount of the test directory is visible in the host\'s mount namespace');
    assert.deepEqual(hostPaths(), hostBefore, 'the host\'s runtime and CNI paths changed');
  });
});
