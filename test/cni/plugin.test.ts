/**
 * The CNI plugin, driven exactly as a container runtime drives it (CNI SPEC 1.0/1.1): the built
 * executable with the CNI_* environment and the network configuration on stdin, against the agent's
 * side running in this process and a real node namespace (harness.ts). Every verb; concurrency;
 * idempotent DEL; the agent away; CHECK against a changed interface; GC; exhaustion; bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniNode, PLUGIN, runPlugin } from './harness.js';
import { isRoot, waitFor } from '../../src/lab/netns.js';
import { hostVethName } from '../../src/dataplane/index.js';

const skip = !isRoot() ? 'needs root (network namespaces)' : !existsSync(PLUGIN) ? `${PLUGIN} not built (npm run build)` : false;
const K8S = (ns: string, name: string) => `IgnoreUnknown=1;K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=x`;

function allocations(n: CniNode): string[] {
  const d = join(n.stateDir, 'cni', 'allocations');
  return existsSync(d) ? readdirSync(d).filter((f) => !f.startsWith('.')).sort() : [];
}

describe('petrel CNI plugin (the executable, as a runtime runs it)', { skip }, () => {
  let n: CniNode;
  before(async () => { n = await CniNode.up('pcni', '198.18.0.0/24'); });
  after(async () => { await n?.destroy(); });

  it('answers VERSION itself with the versions it supports, in the request\'s cniVersion', async () => {
    const r = await n.run({ CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
    assert.equal(r.status, 0);
    assert.deepEqual(r.json, { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('ADD wires the pod: veth named from the pod, address from the block, MTU less VXLAN, default route, host route with our protocol', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'c-add-1', K8S('default', 'web-1'));
    assert.equal(r.status, 0, r.stdout);
    const veth = hostVethName('default', 'web-1');
    const ip = String(r.json.ips[0].address);
    assert.match(ip, /^198\.18\.0\.\d+\/32$/);
    assert.equal(r.json.cniVersion, '1.1.0');
    assert.deepEqual(r.json.interfaces.map((i: { name: string; sandbox?: string }) => [i.name, i.sandbox]), [[veth, undefined], ['eth0', `/run/netns/${ns}`]]);
    assert.deepEqual(r.json.ips, [{ address: ip, gateway: '169.254.1.1', interface: 1 }]);
    assert.deepEqual(r.json.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
    // Inside the pod.
    const eth0 = n.links(ns).find((l) => l.ifname === 'eth0')!;
    assert.equal(eth0.mtu, 1450, 'uplink 1500 less the VXLAN overhead');
    assert.ok(eth0.flags.includes('UP'));
    assert.equal(eth0.address, r.json.interfaces[1].mac);
    assert.match(n.lab.ip(ns, 'route', 'show', 'default'), /default via 169\.254\.1\.1 dev eth0/);
    assert.match(n.lab.ip(ns, 'neigh', 'show', '169.254.1.1'), /lladdr ee:ee:ee:ee:ee:ee PERMANENT/);
    // On the node: the host side and the /32 with Petrel's protocol, installed before ADD returned.
    const host = n.links().find((l) => l.ifname === veth)!;
    assert.equal(host.address, 'ee:ee:ee:ee:ee:ee');
    assert.equal(host.mtu, 1450);
    assert.ok(n.hostRoutes().some((x) => `${x.dst}/32` === ip && x.dev === veth), JSON.stringify(n.hostRoutes()));
    assert.match(n.lab.ip(n.node, 'neigh', 'show', ip.split('/')[0], 'dev', veth), new RegExp(`lladdr ${r.json.interfaces[1].mac}`), 'the node knows the pod\'s MAC without ARP');
    // Traffic both ways: node → pod, pod → node (through the 169.254.1.1 gateway).
    const podIp = ip.split('/')[0];
    assert.equal(n.lab.tryExec(n.node, 'ping', ['-c', '1', '-W', '2', podIp]).status, 0, 'node reaches the pod');
    assert.equal(n.lab.tryExec(ns, 'ping', ['-c', '1', '-W', '2', '192.0.2.11']).status, 0, 'pod reaches the node');
    assert.ok(allocations(n).includes(podIp));
  });

  it('ADD without Kubernetes arguments names the veth from the container ID; the result follows an older cniVersion', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'ctr-task-7', '', n.conf({ cniVersion: '0.4.0' }));
    assert.equal(r.status, 0, r.stdout);
    assert.equal(r.json.cniVersion, '0.4.0');
    assert.equal(r.json.ips[0].version, '4', '0.3.x/0.4.0 results carry ips[].version');
    assert.match(r.json.interfaces[0].name, /^pet[0-9a-f]{12}$/);
    assert.notEqual(r.json.interfaces[0].name, hostVethName('', 'ctr-task-7'));
  });

  it('100 concurrent ADDs get 100 distinct addresses, every one routed', async () => {
    const nss = Array.from({ length: 100 }, () => n.podNs());
    const rs = await Promise.all(nss.map((ns, i) => n.add(ns, `c-par-${i}`, K8S('load', `p${i}`))));
    const failed = rs.filter((r) => r.status !== 0);
    assert.deepEqual(failed.map((r) => r.stdout), []);
    const ips = rs.map((r) => String(r.json.ips[0].address));
    assert.equal(new Set(ips).size, 100);
    const routed = new Set(n.hostRoutes().map((x) => `${x.dst}/32`));
    assert.deepEqual(ips.filter((ip) => !routed.has(ip)), []);
    // Clean up for the tests below (DEL of each, concurrently too).
    const dels = await Promise.all(nss.map((ns, i) => n.del(ns, `c-par-${i}`, K8S('load', `p${i}`))));
    assert.deepEqual(dels.filter((d) => d.status !== 0).map((d) => d.stdout), []);
    for (const ip of ips) assert.ok(!allocations(n).includes(ip.split('/')[0]), `${ip} released`);
  });

  it('DEL removes the veth, the host route and the allocation; a second DEL succeeds too', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'c-del', K8S('default', 'del-1'));
    assert.equal(r.status, 0, r.stdout);
    const ip = String(r.json.ips[0].address).split('/')[0];
    const veth = hostVethName('default', 'del-1');
    for (let i = 0; i < 2; i++) {
      const d = await n.del(ns, 'c-del', K8S('default', 'del-1'));
      assert.equal(d.status, 0, d.stdout);
      assert.equal(d.stdout, '', 'a successful DEL prints nothing');
    }
    assert.ok(!n.links().some((l) => l.ifname === veth));
    assert.ok(!n.hostRoutes().some((x) => x.dst === ip));
    assert.ok(!allocations(n).includes(ip));
    assert.ok(!n.links(ns).some((l) => l.ifname === 'eth0'), 'the pod side went with the host side');
  });

  it('DEL succeeds after the network namespace is gone, and frees the address', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'c-gone', K8S('default', 'gone-1'));
    assert.equal(r.status, 0, r.stdout);
    const ip = String(r.json.ips[0].address).split('/')[0];
    n.lab.deleteNs(ns);
    const d = await n.del(ns, 'c-gone', K8S('default', 'gone-1'));
    assert.equal(d.status, 0, d.stdout);
    assert.ok(!allocations(n).includes(ip));
    const d2 = await n.del(undefined, 'c-gone', K8S('default', 'gone-1'));
    assert.equal(d2.status, 0, 'DEL with an empty CNI_NETNS');
  });

  it('CHECK passes on an intact attachment and names what differs after the interface changed', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'c-check', K8S('default', 'check-1'));
    assert.equal(r.status, 0, r.stdout);
    const env = { CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c-check', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_ARGS: K8S('default', 'check-1') };
    const ok = await n.run(env, n.conf({ prevResult: r.json }));
    assert.equal(ok.status, 0, ok.stdout);
    n.lab.ip(ns, 'link', 'set', 'eth0', 'mtu', '1300');
    n.lab.ip(ns, 'route', 'del', 'default');
    const bad = await n.run(env, n.conf({ prevResult: r.json }));
    assert.equal(bad.status, 1);
    assert.equal(bad.json.code, 104);
    assert.match(bad.json.details, /MTU is 1300, expected 1450/);
    assert.match(bad.json.details, /route 0\.0\.0\.0\/0 via 169\.254\.1\.1 is missing/);
    const noPrev = await n.run(env, n.conf());
    assert.equal(noPrev.json.code, 7, 'CHECK without prevResult is an invalid configuration');
  });

  it('GC frees every allocation not in cni.dev/valid-attachments, and its veth', async () => {
    const keep = n.podNs();
    const drop = n.podNs();
    const a = await n.add(keep, 'c-gc-keep', K8S('default', 'gc-keep'));
    const b = await n.add(drop, 'c-gc-drop', K8S('default', 'gc-drop'));
    assert.equal(a.status + b.status, 0);
    // The runtime lists every attachment it still has: all but c-gc-drop.
    const dir = join(n.stateDir, 'cni', 'allocations');
    const valid = allocations(n).map((ip) => JSON.parse(readFileSync(join(dir, ip), 'utf8')) as { containerId: string; ifName: string })
      .filter((x) => x.containerId !== 'c-gc-drop').map((x) => ({ containerID: x.containerId, ifname: x.ifName }));
    assert.ok(valid.length >= 1);
    const gcConf = n.conf({ 'cni.dev/valid-attachments': valid });
    const g = await n.run({ CNI_COMMAND: 'GC' }, gcConf);
    assert.equal(g.status, 0, g.stdout);
    assert.ok(!allocations(n).includes(String(b.json.ips[0].address).split('/')[0]), 'dropped');
    assert.ok(allocations(n).includes(String(a.json.ips[0].address).split('/')[0]), 'kept');
    assert.ok(!n.links().some((l) => l.ifname === hostVethName('default', 'gc-drop')));
    const old = await n.run({ CNI_COMMAND: 'GC' }, n.conf({ cniVersion: '1.0.0' }));
    assert.equal(old.json.code, 1, 'GC needs cniVersion 1.1.0');
  });

  it('STATUS is ready (exit 0, no output) while ADD would succeed', async () => {
    const s = await n.run({ CNI_COMMAND: 'STATUS' });
    assert.equal(s.status, 0, s.stdout);
    assert.equal(s.stdout, '');
  });

  it('with the agent down: ADD says try again later (11), STATUS not available (50), DEL succeeds and is finished when the agent returns', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'c-away', K8S('default', 'away-1'));
    assert.equal(r.status, 0, r.stdout);
    const ip = String(r.json.ips[0].address).split('/')[0];
    await n.stopAgent();
    try {
      const add = await n.add(n.podNs(), 'c-away-2', K8S('default', 'away-2'));
      assert.equal(add.status, 1);
      assert.equal(add.json.code, 11);
      assert.match(add.json.details, /cni\.sock/);
      const st = await n.run({ CNI_COMMAND: 'STATUS' });
      assert.equal(st.json.code, 50);
      n.lab.deleteNs(ns); // the runtime tears the sandbox down while the agent is away
      const d = await n.del(ns, 'c-away', K8S('default', 'away-1'));
      assert.equal(d.status, 0, d.stdout);
      assert.ok(allocations(n).includes(ip), 'still allocated while the agent is away');
      assert.equal(readdirSync(join(n.stateDir, 'cni', 'pending-del')).length, 1, 'a marker for the agent');
    } finally {
      await n.startAgent();
    }
    assert.ok(!allocations(n).includes(ip), 'released when the agent came back');
    assert.equal(readdirSync(join(n.stateDir, 'cni', 'pending-del')).length, 0);
  });

  it('an agent restart keeps live attachments routed (recovered from the state directory)', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'c-restart', K8S('default', 'restart-1'));
    assert.equal(r.status, 0, r.stdout);
    const ip = String(r.json.ips[0].address).split('/')[0];
    await n.stopAgent();
    await n.startAgent();
    // A full pass with a resync: the route is still desired, so it stays.
    assert.ok(n.hostRoutes().some((x) => x.dst === ip));
    const ok = await n.run({ CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c-restart', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_ARGS: K8S('default', 'restart-1') }, n.conf({ prevResult: r.json }));
    assert.equal(ok.status, 0, ok.stdout);
  });

  it('bad input gets the spec\'s error object, never a crash: stdin, environment, configuration', async () => {
    const ns = n.podNs();
    const base = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c-bad', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' };
    const cases: Array<[string, Record<string, string>, string | Record<string, unknown>, number]> = [
      ['not JSON', base, `{"runDir":"${n.runDir}", oops`, 6],
      ['a JSON array', base, '[1,2]', 6],
      ['no CNI_CONTAINERID', { ...base, CNI_CONTAINERID: '' }, n.conf(), 4],
      ['no CNI_NETNS', { ...base, CNI_NETNS: '' }, n.conf(), 4],
      ['a relative CNI_NETNS', { ...base, CNI_NETNS: 'netns/x' }, n.conf(), 4],
      ['an interface name with a slash', { ...base, CNI_IFNAME: 'a/b' }, n.conf(), 4],
      ['an unknown command', { ...base, CNI_COMMAND: 'FROB' }, n.conf(), 4],
      ['malformed CNI_ARGS', { ...base, CNI_ARGS: 'K8S_POD_NAME' }, n.conf(), 4],
      ['an unsupported cniVersion', base, n.conf({ cniVersion: '9.9.9' }), 1],
      ['another plugin type', base, n.conf({ type: 'bridge' }), 7],
      ['a bad mtu', base, n.conf({ mtu: 'big' }), 7],
      ['a missing netns', { ...base, CNI_NETNS: '/run/netns/does-not-exist-pcni' }, n.conf(), 102],
    ];
    for (const [what, env, stdin, code] of cases) {
      const r = await n.run(env, stdin);
      assert.equal(r.status, 1, `${what}: exit status`);
      assert.equal(r.json.code, code, `${what}: ${r.stdout}`);
      assert.equal(typeof r.json.msg, 'string', what);
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, `${what}: no stack trace`);
    }
    const none = await runPlugin({}, '{}');
    assert.equal(none.json.code, 4, 'no CNI_COMMAND');
    const big = await n.run(base, `{"pad":"${'x'.repeat(2 << 20)}"}`);
    assert.equal(big.json.code, 6, 'stdin over 1 MiB');
    // Nothing was allocated for any of them, and the agent still serves.
    assert.ok(!readdirSync(join(n.stateDir, 'cni', 'allocations')).some((f) => f.includes('c-bad')));
    assert.equal((await n.run({ CNI_COMMAND: 'STATUS' })).status, 0);
  });

  it('an interface name already in the namespace is refused (103) and nothing is left allocated', async () => {
    const ns = n.podNs();
    n.lab.ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0');
    const before = allocations(n).length;
    const r = await n.add(ns, 'c-exists', K8S('default', 'exists-1'));
    assert.equal(r.json.code, 103, r.stdout);
    assert.equal(allocations(n).length, before);
    assert.ok(!n.links().some((l) => l.ifname === hostVethName('default', 'exists-1')));
  });

  it('runs on a host without Node.js (the node binary hidden in a mount namespace)', async () => {
    const ns = n.podNs();
    const hide = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount --bind /dev/null ${process.execPath} && ! ${process.execPath} -e 0 2>/dev/null && exec "$0"`];
    const v = await n.run({ CNI_COMMAND: 'VERSION' }, { cniVersion: '1.1.0' }, { wrap: hide });
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const r = await n.run({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c-nonode', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' }, n.conf(), { wrap: hide });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(String(r.json.ips[0].address), /^198\.18\.0\./);
  });
});

describe('petrel CNI plugin: a full block', { skip }, () => {
  let n: CniNode;
  before(async () => { n = await CniNode.up('pcnx', '198.18.1.0/29'); });
  after(async () => { await n?.destroy(); });

  it('hands out the 6 usable addresses of a /29 (never the network or broadcast address), then names the block', async () => {
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await n.add(n.podNs(), `c-full-${i}`);
      assert.equal(r.status, 0, r.stdout);
      got.push(String(r.json.ips[0].address));
    }
    assert.deepEqual(got.sort(), ['198.18.1.1/32', '198.18.1.2/32', '198.18.1.3/32', '198.18.1.4/32', '198.18.1.5/32', '198.18.1.6/32']);
    const full = await n.add(n.podNs(), 'c-full-7');
    assert.equal(full.status, 1);
    assert.equal(full.json.code, 101);
    assert.match(full.json.msg, /198\.18\.1\.0\/29/);
    assert.match(full.json.details, /6 of 6/);
    const st = await n.run({ CNI_COMMAND: 'STATUS' });
    assert.equal(st.json.code, 50, 'STATUS: not ready while no ADD can succeed');
  });
});

describe('petrel CNI plugin: collecting the addresses of pods that are gone', { skip }, () => {
  let n: CniNode;
  before(async () => { n = await CniNode.up('pcng', '198.18.2.0/26', 0); });
  after(async () => { await n?.destroy(); });

  it('frees an allocation whose veth is gone unless a live pod holds its address; nothing before the Pod cache syncs', async () => {
    const a = n.podNs();
    const b = n.podNs();
    const ra = await n.add(a, 'c-col-a', K8S('default', 'col-a'));
    const rb = await n.add(b, 'c-col-b', K8S('default', 'col-b'));
    const ipa = String(ra.json.ips[0].address).split('/')[0];
    const ipb = String(rb.json.ips[0].address).split('/')[0];
    n.lab.deleteNs(a); // both sandboxes vanish without a DEL (a crashed runtime)
    n.lab.deleteNs(b);
    // The kernel destroys a namespace's interfaces in a work queue, a moment after `ip netns del`.
    const veths = [hostVethName('default', 'col-a'), hostVethName('default', 'col-b')];
    await waitFor('the pods\' host veths to go with their namespaces', () => !n.links().some((l) => veths.includes(l.ifname)), 10_000, 50);
    n.live = undefined;
    assert.equal(await n.plugin.collect(), 0, 'the Pod cache is not synced: nothing is freed');
    n.live = new Set([ipb]);
    assert.equal(await n.plugin.collect(), 1);
    assert.ok(!allocations(n).includes(ipa), 'a gone pod\'s address is freed');
    assert.ok(allocations(n).includes(ipb), 'a live Pod\'s address is never freed');
  });

  it('keeps a leftover temporary file from counting as an allocation (a crash mid-write)', async () => {
    writeFileSync(join(n.stateDir, 'cni', 'allocations', '.tmp-1-198.18.2.9'), '{"ip":"198.18.2.9"');
    await n.stopAgent();
    await n.startAgent();
    assert.ok(!readdirSync(join(n.stateDir, 'cni', 'allocations')).some((f) => f.startsWith('.tmp')));
  });
});

describe('petrel CNI plugin: a dual-stack node', { skip }, () => {
  let n: CniNode;
  before(async () => { n = await CniNode.up('pcn6', ['198.18.3.0/26', '2001:db8:3::/120']); });
  after(async () => { await n?.destroy(); });

  it('gives one address per family, an IPv6 default route through the host side\'s link-local address, and both host routes', async () => {
    const ns = n.podNs();
    const r = await n.add(ns, 'c-ds', K8S('default', 'ds-1'));
    assert.equal(r.status, 0, r.stdout);
    const addrs = r.json.ips.map((i: { address: string }) => i.address);
    assert.deepEqual(addrs, ['198.18.3.1/32', '2001:db8:3::1/128']);
    assert.deepEqual(r.json.ips[1].gateway, 'fe80::ecee:eeff:feee:eeee');
    assert.deepEqual(r.json.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' }]);
    assert.match(n.lab.ip(ns, '-6', 'route', 'show', 'default'), /default via fe80::ecee:eeff:feee:eeee dev eth0/);
    assert.match(n.lab.ip(ns, '-6', 'addr', 'show', 'dev', 'eth0'), /2001:db8:3::1\/128 scope global\s/, 'no tentative flag: DAD is off for the pod address');
    const routes = n.hostRoutes().map((x) => x.dst);
    assert.ok(routes.includes('198.18.3.1'), JSON.stringify(routes));
    const v6 = JSON.parse(n.lab.ip(n.node, '-6', '-j', 'route', 'show', 'proto', '97')) as Array<{ dst: string }>;
    assert.ok(v6.some((x) => x.dst === '2001:db8:3::1'), JSON.stringify(v6));
    await waitFor('the pod answers over IPv6', () => n.lab.tryExec(n.node, 'ping', ['-6', '-c', '1', '-W', '1', '2001:db8:3::1']).status === 0, 15_000, 200);
    await waitFor('the pod reaches the node over IPv6', () => n.lab.tryExec(ns, 'ping', ['-6', '-c', '1', '-W', '1', '2001:db8:ff::11']).status === 0, 15_000, 200);
    const d = await n.del(ns, 'c-ds', K8S('default', 'ds-1'));
    assert.equal(d.status, 0);
    assert.deepEqual(allocations(n), []);
  });
});
