/**
 * IPAM on disk (src/cni/ipam.ts): distinct addresses under concurrency, idempotence per attachment,
 * what survives a new process, exhaustion, the addresses never handed out.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpamStore, blocksPerFamily } from '../../src/cni/ipam.js';
import { CniError } from '../../src/cni/spec.js';

const dirs: string[] = [];
const fresh = () => { const d = mkdtempSync(join(tmpdir(), 'petrel-ipam-')); dirs.push(d); return d; };
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const owner = (id: string) => ({ containerId: id, ifName: 'eth0' });

describe('cni/ipam', () => {
  it('gives concurrent allocations distinct addresses and writes one file each', async () => {
    const d = fresh();
    const s = new IpamStore(d);
    const got = await Promise.all(Array.from({ length: 200 }, (_, i) => s.allocate(owner(`c${i}`), ['198.18.0.0/24'])));
    const ips = got.map((g) => g[0].ip);
    assert.equal(new Set(ips).size, 200);
    assert.equal(readdirSync(join(d, 'cni', 'allocations')).length, 200);
  });

  it('is idempotent per (container, interface) and survives a new process', async () => {
    const d = fresh();
    const a = await new IpamStore(d).allocate(owner('x'), ['198.18.0.0/26']);
    const s2 = new IpamStore(d);
    await s2.load();
    assert.deepEqual((await s2.allocate(owner('x'), ['198.18.0.0/26'])).map((x) => x.ip), a.map((x) => x.ip));
    assert.deepEqual(s2.find('x', 'eth0').map((x) => x.ip), a.map((x) => x.ip));
    assert.deepEqual((await s2.release('x', 'eth0')).map((x) => x.ip), a.map((x) => x.ip));
    assert.deepEqual(await s2.release('x', 'eth0'), [], 'releasing twice is fine');
    const s3 = new IpamStore(d);
    await s3.load();
    assert.equal(s3.list().length, 0);
  });

  it('one address per family on a dual-stack node', async () => {
    const blocks = blocksPerFamily(['198.18.0.0/26', '2001:db8:1::/120', '198.18.9.0/26']);
    assert.deepEqual(blocks, ['198.18.0.0/26', '2001:db8:1::/120']);
    const a = await new IpamStore(fresh()).allocate(owner('ds'), blocks);
    assert.deepEqual(a.map((x) => x.ip), ['198.18.0.1', '2001:db8:1::1']);
  });

  it('never gives the network (the VTEP) or broadcast address; round-robins past a freed one', async () => {
    const s = new IpamStore(fresh());
    const ips: string[] = [];
    for (let i = 0; i < 2; i++) ips.push((await s.allocate(owner(`r${i}`), ['198.18.0.0/30']))[0].ip);
    assert.deepEqual(ips, ['198.18.0.1', '198.18.0.2']);
    await s.release('r0', 'eth0');
    await assert.rejects(s.allocate(owner('r2'), ['198.18.0.0/30']).then(() => s.allocate(owner('r3'), ['198.18.0.0/30'])), (e: unknown) => e instanceof CniError && e.code === 101 && /198\.18\.0\.0\/30/.test(e.message));
    assert.equal(s.find('r2', 'eth0')[0].ip, '198.18.0.1', 'the freed address, once the cursor came round');
  });

  it('exhaustion leaves no reservation behind', async () => {
    const s = new IpamStore(fresh());
    await s.allocate(owner('a'), ['198.18.0.0/30']);
    await s.allocate(owner('b'), ['198.18.0.0/30']);
    await assert.rejects(s.allocate(owner('c'), ['198.18.0.0/30']));
    assert.equal(s.used('198.18.0.0/30'), 2);
    assert.equal(IpamStore.capacity('198.18.0.0/30'), 2);
  });
});
