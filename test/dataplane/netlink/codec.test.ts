// rtnetlink codec: exact bytes of what Petrel sends for IPIP (tunl0, its address, its routes) —
// this kernel has no ipip module, so these bytes are the proof here; test/vm/ipip.test.ts runs them
// against Debian's full kernel. The route and address bodies were compared with what iproute2 6.1
// sends for the same command (captured with `strace -e sendmsg -xx ip ...`): identical after the
// 16-byte header (iproute2 uses NLM_F_EXCL for `addr add`, we replace; it omits the NUL of
// IFLA_INFO_KIND, we send it — the kernel accepts both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer, forEachMessage, parseRoute, parseLink, parseAddr, parseNeigh, encodeFence, encodeDump } from '../../../src/dataplane/netlink/codec.js';
import { encodeOp } from '../../../src/dataplane/netlink/rtnl.js';
import type { KernelOp, KernelRoute } from '../../../src/dataplane/kernel.js';

const hex = (s: string) => s.replace(/#.*$/gm, '').replace(/\s+/g, '');
function enc(op: KernelOp, seq = 1, ack = true): Buffer {
  const w = new Writer(32); // small on purpose: growth must keep earlier bytes
  encodeOp(w, op, seq, ack);
  return Buffer.from(w.bytes());
}

test('tunl0 is brought up with one RTM_NEWLINK naming kind ipip, its MTU and IFF_UP', () => {
  const bytes = enc({ op: 'link-set', link: { name: 'tunl0', kind: 'ipip', mtu: 1480, up: true } });
  assert.equal(bytes.toString('hex'), hex(`
    44000000 1000 0504 01000000 00000000 # nlmsghdr: len 68, RTM_NEWLINK, REQUEST|ACK|CREATE, seq 1, pid 0
    00 00 0000 00000000 01000000 01000000 # ifinfomsg: AF_UNSPEC, type 0, index 0 (by name), flags IFF_UP, change IFF_UP
    0a00 0300 74756e6c3000 0000          # IFLA_IFNAME "tunl0\\0" + pad
    0800 0400 c8050000                   # IFLA_MTU 1480
    1000 1200                            # IFLA_LINKINFO (nested, 16)
      0900 0100 6970697000 000000        #   IFLA_INFO_KIND "ipip\\0" + pad; no IFLA_INFO_DATA: the fallback device is only configured
  `));
});

test('a remote block through IPIP is RTM_NEWROUTE via the node, dev tunl0, RTNH_F_ONLINK, our protocol', () => {
  const route: KernelRoute = { dst: '198.18.2.0/26', table: 254, protocol: 97, type: 'unicast', scope: 0, nexthops: [{ gateway: '203.0.113.13', ifindex: 5, onlink: true }] };
  assert.equal(enc({ op: 'route-replace', route }).toString('hex'), hex(`
    34000000 1800 0505 01000000 00000000 # len 52, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE
    02 1a 00 00 fe 61 00 01 04000000     # rtmsg: AF_INET, dst_len 26, src 0, tos 0, table main, proto 97, scope universe, unicast, flags ONLINK
    0800 0100 c6120200                   # RTA_DST 198.18.2.0
    0800 0500 cb00710d                   # RTA_GATEWAY 203.0.113.13
    0800 0400 05000000                   # RTA_OIF 5 (tunl0)
  `));
  // Installing a new route is exclusive (never replaces another protocol's route at that destination).
  assert.equal(enc({ op: 'route-create', route }).readUInt16LE(6), 0x0001 | 0x0004 | 0x0400 | 0x0200);
  // Deleting matches our protocol and any scope; no nexthop attributes.
  assert.equal(enc({ op: 'route-delete', route }, 7, false).toString('hex'), hex(`
    24000000 1900 0100 07000000 00000000 # len 36, RTM_DELROUTE, REQUEST, seq 7
    02 1a 00 00 fe 61 ff 01 00000000     # proto 97, scope NOWHERE (matches any), unicast, no flags
    0800 0100 c6120200                   # RTA_DST
  `));
});

test('the tunnel address is RTM_NEWADDR with IFA_LOCAL and IFA_ADDRESS as a /32', () => {
  assert.equal(enc({ op: 'addr-add', addr: { index: 5, address: '198.18.0.1', prefixLen: 32 } }).toString('hex'), hex(`
    28000000 1400 0505 01000000 00000000 # len 40, RTM_NEWADDR, REQUEST|ACK|REPLACE|CREATE
    02 20 00 00 05000000                 # ifaddrmsg: AF_INET, /32, flags 0, scope 0, index 5
    0800 0200 c6120001                   # IFA_LOCAL 198.18.0.1
    0800 0100 c6120001                   # IFA_ADDRESS 198.18.0.1
  `));
});

test('an ECMP route carries RTA_MULTIPATH with one rtnexthop per next hop', () => {
  const route: KernelRoute = { dst: '198.18.4.0/26', table: 254, protocol: 97, type: 'unicast', scope: 0, nexthops: [
    { gateway: '203.0.113.12', ifindex: 5, onlink: true }, { gateway: '203.0.113.13', ifindex: 5, onlink: true }] };
  assert.equal(enc({ op: 'route-create', route }).subarray(16).toString('hex'), hex(`
    02 1a 00 00 fe 61 00 01 00000000     # no RTNH_F_ONLINK in rtm_flags: it is per next hop
    0800 0100 c6120400                   # RTA_DST 198.18.4.0
    2400 0900                            # RTA_MULTIPATH (4 + 2 × 16 = 36)
      1000 04 00 05000000 0800 0500 cb00710c  # rtnexthop len 16, ONLINK, hops 0, ifindex 5, RTA_GATEWAY .12
      1000 04 00 05000000 0800 0500 cb00710d  # .13
  `));
});

test('what we encode parses back to the same route (single, ECMP, blackhole, IPv6, a table above 255)', () => {
  const routes: KernelRoute[] = [
    { dst: '198.18.0.5/32', table: 254, protocol: 97, type: 'unicast', scope: 253, nexthops: [{ ifindex: 9, onlink: false }] },
    { dst: '198.18.4.0/26', table: 254, protocol: 97, type: 'unicast', scope: 0, nexthops: [{ gateway: '192.0.2.12', ifindex: 2, onlink: false }, { gateway: '192.0.2.13', ifindex: 3, onlink: true }] },
    { dst: '198.18.0.0/26', table: 254, protocol: 97, type: 'blackhole', scope: 0, nexthops: [] },
    { dst: '2001:db8:1::/122', table: 254, protocol: 97, type: 'unicast', scope: 0, nexthops: [{ gateway: '2001:db8::12', ifindex: 2, onlink: false }] },
    { dst: '100.64.0.0/10', table: 1000, protocol: 200, type: 'unicast', scope: 0, nexthops: [{ gateway: '192.0.2.1', ifindex: 2, onlink: false }] },
  ];
  const w = new Writer();
  routes.forEach((r, i) => encodeOp(w, { op: 'route-replace', route: r }, i + 1));
  const back: KernelRoute[] = [];
  assert.equal(forEachMessage(w.buf, w.offset, (_t, off, len) => { back.push(parseRoute(w.buf, off, len)!); }), true);
  assert.deepEqual(back, routes);
});

test('links, addresses and neighbours parse back from what we encode', () => {
  const w = new Writer();
  encodeOp(w, { op: 'link-set', link: { name: 'vxlan.petrel', kind: 'vxlan', mtu: 1450, up: true, mac: '02:aa:bb:cc:dd:ee', vxlan: { vni: 4096, port: 4789, local: '192.0.2.11', link: 2, learning: false } } }, 1);
  const l = parseLink(w.buf, 0, w.offset);
  assert.deepEqual(l, { index: 0, name: 'vxlan.petrel', mtu: 1450, up: true, mac: '02:aa:bb:cc:dd:ee', kind: 'vxlan', vxlan: { vni: 4096, port: 4789, local: '192.0.2.11', link: 2, learning: false } });
  w.reset();
  encodeOp(w, { op: 'addr-add', addr: { index: 4, address: '2001:db8::1', prefixLen: 128 } }, 1);
  assert.deepEqual(parseAddr(w.buf, 0, w.offset), { index: 4, address: '2001:db8::1', prefixLen: 128 });
  w.reset();
  encodeOp(w, { op: 'neigh-set', neigh: { family: 'bridge', ifindex: 4, dst: '203.0.113.13', lladdr: '02:00:00:00:00:01', state: 0x80, flags: 2 } }, 1);
  assert.deepEqual(parseNeigh(w.buf, 0, w.offset), { family: 'bridge', ifindex: 4, dst: '203.0.113.13', lladdr: '02:00:00:00:00:01', state: 0x80, flags: 2 });
});

test('the fence is an ACKed NLMSG_NOOP and a dump request asks for NLM_F_DUMP', () => {
  const w = new Writer();
  encodeFence(w, 9);
  assert.equal(w.bytes().toString('hex'), hex('10000000 0100 0500 09000000 00000000'));
  w.reset();
  encodeDump(w, 26, 2, 3);
  assert.equal(w.bytes().toString('hex'), hex('1c000000 1a00 0103 03000000 00000000 02000000 00000000 00000000'));
});

test('a message whose length runs past the buffer stops the walk instead of reading beyond it', () => {
  const w = new Writer();
  encodeFence(w, 1);
  const b = Buffer.from(w.bytes());
  b.writeUInt32LE(400, 0);
  let seen = 0;
  assert.equal(forEachMessage(b, b.length, () => { seen++; }), false);
  assert.equal(seen, 0);
  b.writeUInt32LE(3, 0);
  assert.equal(forEachMessage(b, b.length, () => { seen++; }), false);
});
