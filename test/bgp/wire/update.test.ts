import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMessage, encodeEndOfRib, encodeMessage, encodeUpdates, isEndOfRib, unknownForPassOn,
  type CodecContext, type UpdateMessage,
} from '../../../src/bgp/wire/index.js';
import { hex, toHex } from './helpers.js';
import { CTX2, CTX4, runTable } from './table.js';

const ADDPATH: CodecContext = { fourOctetAs: true, extendedMessage: true, addPathReceive: ['ipv4', 'ipv6'] };

runTable([
  {
    name: 'BIRD 2.0.12 iBGP UPDATE to GoBGP with IPv4 NLRI and LOCAL_PREF (captured)',
    hex: hex`
      ffffffffffffffffffffffffffffffff 003a 02 // marker, length 58, UPDATE
      0000                                     // no withdrawn routes
      0015                                     // 21 bytes of path attributes
      40 01 01 00                              // ORIGIN IGP
      40 02 00                                 // AS_PATH empty (iBGP, originated)
      40 03 04 c6336401                        // NEXT_HOP 198.51.100.1
      40 05 04 00000064                        // LOCAL_PREF 100
      1a c61200 40                             // 198.18.0.64/26
      1a c61200 00                             // 198.18.0.0/26
      18 cb0071                                // 203.0.113.0/24
    `,
    value: {
      type: 'update', withdrawn: [],
      attrs: { origin: 0, asPath: [], nextHop: '198.51.100.1', localPref: 100 },
      nlri: ['198.18.0.64/26', '198.18.0.0/26', '203.0.113.0/24'],
    },
  },
  {
    name: 'BIRD 2.0.12 eBGP UPDATE to FRR with IPv6 MP_REACH and a link-local next hop (captured)',
    hex: hex`
      ffffffffffffffffffffffffffffffff 005d 02 0000 0046 // header; no withdrawn; 70 bytes of attributes
      90 0e 0035                               // MP_REACH_NLRI, optional, extended length 53
      0002 01 20                               // AFI IPv6, SAFI unicast, next hop 32 bytes
      20010db8010000000000000000000001         // 2001:db8:100::1
      fe800000000000002c1bd2fffe347b50         // fe80::2c1b:d2ff:fe34:7b50
      00                                       // reserved
      30 20010db80001                          // 2001:db8:1::/48
      40 20010db800020000                      // 2001:db8:2::/64
      40 01 01 00                              // ORIGIN IGP
      40 02 06 02 01 0000fbf5                  // AS_PATH: sequence of 1: 64501
    `,
    value: {
      type: 'update', withdrawn: [], nlri: [],
      attrs: {
        mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8:100::1', 'fe80::2c1b:d2ff:fe34:7b50'], nlri: ['2001:db8:1::/48', '2001:db8:2::/64'] },
        origin: 0, asPath: [{ type: 2, asns: [64501] }],
      },
    },
  },
  {
    name: 'BIRD 2.0.12 eBGP UPDATE to FRR with MED, communities, extended and large communities and add-path ids (captured)',
    ctx: ADDPATH,
    hex: hex`
      ffffffffffffffffffffffffffffffff 006d 02 0000 003c // header; no withdrawn; 60 bytes of attributes
      40 01 01 00                              // ORIGIN IGP
      40 02 06 02 01 0000fbf5                  // AS_PATH 64501
      40 03 04 c6336401                        // NEXT_HOP 198.51.100.1
      80 04 04 00000032                        // MULTI_EXIT_DISC 50
      c0 08 04 fbf50064                        // COMMUNITIES (64501,100)
      c0 10 08 0002fbf500000007                // EXTENDED_COMMUNITIES route target 64501:7
      c0 20 0c 0000fbf5 00000001 00000002      // LARGE_COMMUNITIES (64501,1,2)
      00000002 1a c6120040                     // path id 2, 198.18.0.64/26
      00000002 1a c6120000                     // path id 2, 198.18.0.0/26
      00000002 18 cb0071                       // path id 2, 203.0.113.0/24
    `,
    value: {
      type: 'update', withdrawn: [], withdrawnPathIds: [],
      attrs: {
        origin: 0, asPath: [{ type: 2, asns: [64501] }], nextHop: '198.51.100.1', med: 50,
        communities: [(64501 << 16) + 100 >>> 0], extendedCommunities: [hex`0002fbf500000007`], largeCommunities: [[64501, 1, 2]],
      },
      nlri: ['198.18.0.64/26', '198.18.0.0/26', '203.0.113.0/24'], nlriPathIds: [2, 2, 2],
    },
  },
  {
    name: 'GoBGP 3.10 UPDATE withdrawing an IPv6 prefix in MP_UNREACH without extended length (captured)',
    exact: false, // we always use the extended length for MP attributes
    hex: hex`
      ffffffffffffffffffffffffffffffff 0024 02 0000 000d // header; no withdrawn; 13 bytes of attributes
      80 0f 0a 0002 01                         // MP_UNREACH_NLRI, length 10, IPv6 unicast
      30 20010db80004                          // 2001:db8:4::/48
    `,
    value: { type: 'update', withdrawn: [], nlri: [], attrs: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:4::/48'] } } },
  },
  {
    name: 'An UPDATE withdrawing IPv4 prefixes (BIRD 2.0.12 to GoBGP, captured)',
    hex: hex`
      ffffffffffffffffffffffffffffffff 0025 02 // length 37
      000e 1a c6120040 1a c6120000 18 cb0071   // 14 bytes of withdrawn routes
      0000                                     // no attributes
    `,
    value: { type: 'update', withdrawn: ['198.18.0.64/26', '198.18.0.0/26', '203.0.113.0/24'], attrs: {}, nlri: [] },
  },
  {
    name: 'An UPDATE to a 2-octet-AS peer carries AS_TRANS with AS4_PATH and AS4_AGGREGATOR',
    ctx: CTX2,
    hex: hex`
      ffffffffffffffffffffffffffffffff 0053 02 0000 0038 // length 83; 56 bytes of attributes
      40 01 01 00                              // ORIGIN IGP
      40 02 06 02 02 5ba0 fde8                 // AS_PATH (2-octet): 23456 (AS_TRANS) 65000
      40 03 04 c0000201                        // NEXT_HOP 192.0.2.1
      40 06 00                                 // ATOMIC_AGGREGATE
      c0 07 06 5ba0 c0000201                   // AGGREGATOR AS_TRANS 192.0.2.1
      c0 11 0a 02 02 fa56ea00 0000fde8         // AS4_PATH 4200000000 65000
      c0 12 08 fa56ea00 c0000201               // AS4_AGGREGATOR 4200000000 192.0.2.1
      18 c63364                                // 198.51.100.0/24
    `,
    value: {
      type: 'update', withdrawn: [], nlri: ['198.51.100.0/24'],
      attrs: {
        origin: 0, asPath: [{ type: 2, asns: [23456, 65000] }], nextHop: '192.0.2.1', atomicAggregate: true,
        aggregator: { asn: 23456, address: '192.0.2.1' }, as4Path: [{ type: 2, asns: [4200000000, 65000] }],
        as4Aggregator: { asn: 4200000000, address: '192.0.2.1' },
      },
    },
  },
  {
    name: 'A reflected UPDATE carries ORIGINATOR_ID, CLUSTER_LIST and a well-known community',
    hex: hex`
      ffffffffffffffffffffffffffffffff 004a 02 0000 002e // length 74; 46 bytes of attributes
      40 01 01 00  40 02 00                    // ORIGIN IGP, empty AS_PATH
      40 03 04 c6336401                        // NEXT_HOP 198.51.100.1
      40 05 04 00000064                        // LOCAL_PREF 100
      c0 08 04 ffffff01                        // COMMUNITIES NO_EXPORT
      80 09 04 c6336401                        // ORIGINATOR_ID 198.51.100.1
      80 0a 08 c6336464 c6336465               // CLUSTER_LIST 198.51.100.100 198.51.100.101
      20 c6120001                              // 198.18.0.1/32
    `,
    value: {
      type: 'update', withdrawn: [], nlri: ['198.18.0.1/32'],
      attrs: {
        origin: 0, asPath: [], nextHop: '198.51.100.1', localPref: 100, communities: [0xffffff01],
        originatorId: '198.51.100.1', clusterList: ['198.51.100.100', '198.51.100.101'],
      },
    },
  },
  {
    name: 'An UPDATE with confederation segments and an AS_SET in AS_PATH',
    hex: hex`
      ffffffffffffffffffffffffffffffff 003e 02 0000 0026 // length 62; 38 bytes of attributes
      40 01 01 02                              // ORIGIN incomplete
      40 02 18                                 // AS_PATH, 24 bytes:
      03 01 0000fde9                           //   confed sequence 65001
      04 01 0000fdea                           //   confed set {65002}
      02 01 0000fde8                           //   sequence 65000
      01 01 0000fdeb                           //   set {65003}
      40 03 04 c0000201                        // NEXT_HOP 192.0.2.1
      00                                       // 0.0.0.0/0
    `,
    value: {
      type: 'update', withdrawn: [], nlri: ['0.0.0.0/0'],
      attrs: {
        origin: 2, nextHop: '192.0.2.1',
        asPath: [{ type: 3, asns: [65001] }, { type: 4, asns: [65002] }, { type: 2, asns: [65000] }, { type: 1, asns: [65003] }],
      },
    },
  },
  {
    name: 'An UPDATE with an unknown optional transitive attribute keeps it with its flags',
    hex: hex`
      ffffffffffffffffffffffffffffffff 0035 02 0000 001a // length 53; 26 bytes of attributes
      40 01 01 00  40 02 06 02 01 0000fde8     // ORIGIN IGP, AS_PATH 65000
      40 03 04 c0000201                        // NEXT_HOP
      c0 63 03 010203                          // attribute 99, optional transitive, 3 bytes
      18 cb0071                                // 203.0.113.0/24
    `,
    value: {
      type: 'update', withdrawn: [], nlri: ['203.0.113.0/24'],
      attrs: { origin: 0, asPath: [{ type: 2, asns: [65000] }], nextHop: '192.0.2.1', unknown: [{ flags: 0xc0, code: 99, value: hex`010203` }] },
    },
  },
  {
    name: 'The IPv4 End-of-RIB is an empty UPDATE',
    hex: hex`ffffffffffffffffffffffffffffffff 0017 02 0000 0000`,
    value: { type: 'update', withdrawn: [], attrs: {}, nlri: [] },
  },
  {
    name: 'The IPv6 End-of-RIB is an UPDATE with an empty MP_UNREACH_NLRI',
    hex: hex`ffffffffffffffffffffffffffffffff 001e 02 0000 0007  90 0f 0003 0002 01`,
    value: { type: 'update', withdrawn: [], nlri: [], attrs: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } } },
  },
]);

test('isEndOfRib recognizes both families and nothing else', () => {
  assert.equal(isEndOfRib({ type: 'update', withdrawn: [], attrs: {}, nlri: [] }), 'ipv4');
  assert.equal(isEndOfRib({ type: 'update', withdrawn: [], attrs: { mpUnreach: { afi: 2, safi: 1, withdrawn: [] } }, nlri: [] }), 'ipv6');
  assert.equal(isEndOfRib({ type: 'update', withdrawn: [], attrs: { mpUnreach: { afi: 1, safi: 1, withdrawn: [] } }, nlri: [] }), 'ipv4');
  assert.equal(isEndOfRib({ type: 'update', withdrawn: ['198.18.0.0/24'], attrs: {}, nlri: [] }), undefined);
  assert.equal(isEndOfRib({ type: 'update', withdrawn: [], attrs: { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8::/32'] } }, nlri: [] }), undefined);
  assert.equal(isEndOfRib({ type: 'update', withdrawn: [], attrs: { origin: 0, mpUnreach: { afi: 2, safi: 1, withdrawn: [] } }, nlri: [] }), undefined);
  // The 6-byte form GoBGP and BIRD send (no extended length) is End-of-RIB too.
  const gobgp = decodeMessage(hex`ffffffffffffffffffffffffffffffff 001d 02 0000 0006 80 0f 03 0002 01`, CTX4).message as UpdateMessage;
  assert.equal(isEndOfRib(gobgp), 'ipv6');
});

test('encodeEndOfRib produces the End-of-RIB of each family', () => {
  for (const fam of ['ipv4', 'ipv6'] as const) {
    assert.equal(isEndOfRib(decodeMessage(encodeEndOfRib(fam), CTX4).message as UpdateMessage), fam);
  }
  assert.equal(toHex(encodeEndOfRib('ipv4')), 'ffffffffffffffffffffffffffffffff00170200000000');
});

test('encodeUpdates packs 2000 IPv4 /32s into UPDATEs that fit 4096 bytes and carry every prefix once', () => {
  const nlri = Array.from({ length: 2000 }, (_, i) => `198.18.${i >> 8}.${i & 255}/32`);
  const withdrawn = Array.from({ length: 1000 }, (_, i) => `198.19.${i >> 8}.${i & 255}/32`);
  const attrs = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [64512, 64513] }], communities: [1, 2, 3] };
  const frames = encodeUpdates({ family: 'ipv4', attrs, nextHops: ['198.51.100.1'], nlri, withdrawn }, CTX4);
  const seenA: string[] = [];
  const seenW: string[] = [];
  for (const f of frames) {
    assert.ok(f.length <= 4096);
    const d = decodeMessage(f, CTX4);
    assert.deepEqual(d.problems, []);
    const m = d.message as UpdateMessage;
    seenW.push(...m.withdrawn);
    seenA.push(...m.nlri);
    if (m.nlri.length) assert.deepEqual(m.attrs, { ...attrs, nextHop: '198.51.100.1' });
  }
  assert.deepEqual(seenA, nlri);
  assert.deepEqual(seenW, withdrawn);
  assert.ok(frames.length <= 5, `${frames.length} UPDATEs`); // 5 bytes per /32: ~810 per UPDATE
});

test('encodeUpdates puts IPv6 into MP_REACH with both next hops and MP_UNREACH, honouring extended messages', () => {
  const nlri = Array.from({ length: 5000 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/48`);
  const ctx: CodecContext = { fourOctetAs: true, extendedMessage: true };
  const frames = encodeUpdates({ family: 'ipv6', attrs: { origin: 0, asPath: [], localPref: 200 }, nextHops: ['2001:db8::1', 'fe80::1'], nlri, withdrawn: ['2001:db8:ffff::/48'] }, ctx);
  const got: string[] = [];
  let big = false;
  for (const f of frames) {
    if (f.length > 4096) big = true;
    assert.ok(f.length <= 65535);
    const m = decodeMessage(f, ctx).message as UpdateMessage;
    if (m.attrs.mpUnreach) assert.deepEqual(m.attrs.mpUnreach.withdrawn, ['2001:db8:ffff::/48']);
    if (m.attrs.mpReach) {
      assert.deepEqual(m.attrs.mpReach.nextHops, ['2001:db8::1', 'fe80::1']);
      assert.equal(m.attrs.localPref, 200);
      got.push(...m.attrs.mpReach.nlri);
    }
  }
  assert.ok(big, 'extended messages allow UPDATEs above 4096 bytes');
  assert.deepEqual(got, nlri);
});

test('An UPDATE to a 2-octet peer gets AS_TRANS and an AS4_PATH added when the path holds 4-octet ASNs', () => {
  const m: UpdateMessage = { type: 'update', withdrawn: [], nlri: ['198.51.100.0/24'], attrs: { origin: 0, asPath: [{ type: 2, asns: [4200000000, 65000] }], nextHop: '192.0.2.1' } };
  const back = decodeMessage(encodeMessage(m, CTX2), CTX2).message as UpdateMessage;
  assert.deepEqual(back.attrs.asPath, [{ type: 2, asns: [23456, 65000] }]);
  assert.deepEqual(back.attrs.as4Path, [{ type: 2, asns: [4200000000, 65000] }]);
  // and a 4-octet peer never gets AS4_PATH (RFC 6793 §3)
  const four = decodeMessage(encodeMessage({ ...m, attrs: { ...m.attrs, as4Path: [{ type: 2, asns: [1] }] } }, CTX4), CTX4).message as UpdateMessage;
  assert.equal(four.attrs.as4Path, undefined);
});

test('rawAttributes is a view of the attribute bytes when all are kept, without MP_REACH', () => {
  const v6 = hex`ffffffffffffffffffffffffffffffff 005d 02 0000 0046
    90 0e 0035 0002 01 20 20010db8010000000000000000000001 fe800000000000002c1bd2fffe347b50 00 30 20010db80001 40 20010db800020000
    40 01 01 00 40 02 06 02 01 0000fbf5`;
  const d = decodeMessage(v6, CTX4);
  assert.equal(toHex(d.rawAttributes!), '4001010040020602010000fbf5');
  assert.equal(d.rawAttributes!.buffer, v6.buffer);
});

test('Unknown transitive attributes are passed on with the Partial bit, non-transitive ones are not', () => {
  const b = hex`ffffffffffffffffffffffffffffffff 0033 02 0000 0018
    40 01 01 00  40 02 00  40 03 04 c0000201
    c0 63 03 010203   80 64 01 ff
    18 cb0071`;
  const d = decodeMessage(b, CTX4);
  const m = d.message as UpdateMessage;
  assert.equal(m.attrs.unknown?.length, 2);
  assert.deepEqual(unknownForPassOn(m.attrs.unknown), [{ flags: 0xe0, code: 99, value: hex`010203` }]);
  // rawAttributes, what a reflector forwards, already has Partial set and lacks the non-transitive one.
  assert.equal(toHex(d.rawAttributes!), '40010100400200400304c0000201e06303010203');
});

test('IPv4 prefixes given as numeric keys encode exactly like the same prefixes given as text', async () => {
  const { encodeUpdates: enc, decodeMessage: dec } = await import('../../../src/bgp/wire/index.js');
  const ctx = { fourOctetAs: true, extendedMessage: false };
  const text = Array.from({ length: 1500 }, (_, i) => `100.64.${i >> 8}.${i & 255}/32`).concat(['198.18.0.0/15', '0.0.0.0/0', '203.0.113.128/25']);
  const key = (p: string) => {
    const [a, l] = p.split('/');
    const n = a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
    return n * 64 + Number(l);
  };
  const attrs = { origin: 0 as const, asPath: [] };
  const byText = enc({ family: 'ipv4', attrs, nextHops: ['192.0.2.1'], nlri: text, withdrawn: text.slice(0, 900) }, ctx);
  const byKey = enc({ family: 'ipv4', attrs, nextHops: ['192.0.2.1'], nlri: [], withdrawn: [], nlriKeys: text.map(key), withdrawnKeys: text.slice(0, 900).map(key) }, ctx);
  assert.deepEqual(byKey, byText);
  assert.ok(byText.length > 2, 'packed into several UPDATEs');
  const back = byKey.flatMap((f) => {
    const m = dec(f, ctx).message;
    return m.type === 'update' ? m.nlri : [];
  });
  assert.deepEqual(back, text);
  assert.throws(() => enc({ family: 'ipv6', attrs, nextHops: ['2001:db8::1'], nlri: [], withdrawn: [], nlriKeys: [1] }, ctx), /IPv4 only/);
});

test('with ipv4PrefixKeys the Withdrawn Routes and NLRI fields decode to numeric keys that re-encode to the same bytes', async () => {
  const { encodeMessage: encM, decodeMessage: dec } = await import('../../../src/bgp/wire/index.js');
  const ctx = { fourOctetAs: true, extendedMessage: false };
  const msg = {
    type: 'update' as const,
    withdrawn: ['198.18.0.0/15', '203.0.113.7/32'],
    attrs: { origin: 0 as const, asPath: [], nextHop: '192.0.2.1' },
    nlri: ['100.64.0.1/32', '0.0.0.0/0', '198.51.100.128/25'],
  };
  const bytes = encM(msg, ctx);
  const m = dec(bytes, { ...ctx, ipv4PrefixKeys: true }).message;
  assert.equal(m.type, 'update');
  if (m.type !== 'update') return;
  assert.deepEqual(m.nlri, []);
  assert.deepEqual(m.withdrawn, []);
  const text = (k: number) => { const len = k % 64; const a = (k - len) / 64; return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}`; };
  assert.deepEqual(m.nlriKeys?.map(text), msg.nlri);
  assert.deepEqual(m.withdrawnKeys?.map(text), msg.withdrawn);
  assert.deepEqual(encM(m, ctx), bytes);
});

test('with ipv4PrefixKeys an UPDATE missing NEXT_HOP is still treat-as-withdraw and its keys move to the withdrawals', async () => {
  const { encodeMessage: encM, decodeMessage: dec } = await import('../../../src/bgp/wire/index.js');
  const ctx = { fourOctetAs: true, extendedMessage: false };
  // Encoded with a next hop, then the NEXT_HOP attribute (flags 0x40, type 3, length 4) cut out.
  const full = encM({ type: 'update', withdrawn: [], attrs: { origin: 0, asPath: [], nextHop: '192.0.2.1' }, nlri: ['100.64.0.1/32'] }, ctx);
  const at = full.findIndex((_, i) => full[i] === 0x40 && full[i + 1] === 3 && full[i + 2] === 4);
  const cut = new Uint8Array([...full.subarray(0, at), ...full.subarray(at + 7)]);
  cut[16] = (cut.length >> 8) & 255; cut[17] = cut.length & 255;
  const attrLenAt = 19 + 2;
  const aLen = (cut[attrLenAt] << 8 | cut[attrLenAt + 1]) - 7;
  cut[attrLenAt] = aLen >> 8; cut[attrLenAt + 1] = aLen & 255;
  const d = dec(cut, { ...ctx, ipv4PrefixKeys: true });
  assert.equal(d.problems[0]?.action, 'treat-as-withdraw');
  const m = d.message;
  if (m.type !== 'update') throw new Error('not an update');
  assert.deepEqual(m.nlriKeys ?? [], []);
  assert.equal(m.withdrawnKeys?.length, 1);
});
