/**
 * RFC 7606: one test per error class, with crafted bytes. Each asserts the action, the subcode and
 * what happened to the routes (withdrawn, kept, or the session reset with its NOTIFICATION).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BgpError, UPDATE_ERRORS, bgpErrorName, decodeMessage, type CodecContext, type UpdateMessage } from '../../../src/bgp/wire/index.js';
import { hex, toHex } from './helpers.js';

const CTX: CodecContext = { fourOctetAs: true, extendedMessage: false };

/** An UPDATE from hex parts; lengths computed here. */
function update(parts: { withdrawn?: string; attrs?: string; nlri?: string }): Uint8Array {
  const w = hex(parts.withdrawn ?? '');
  const a = hex(parts.attrs ?? '');
  const n = hex(parts.nlri ?? '');
  const len = 19 + 2 + w.length + 2 + a.length + n.length;
  const h = (v: number) => v.toString(16).padStart(4, '0');
  return hex(`${'ff'.repeat(16)} ${h(len)} 02 ${h(w.length)} ${toHex(w)} ${h(a.length)} ${toHex(a)} ${toHex(n)}`);
}
const ORIGIN = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fde8';
const NEXT_HOP = '40 03 04 c0000201';
const BASE = `${ORIGIN} ${AS_PATH} ${NEXT_HOP}`;
const NLRI = '18 cb0071'; // 203.0.113.0/24

function decode(b: Uint8Array, ctx = CTX) {
  const d = decodeMessage(b, ctx);
  return { ...d, m: d.message as UpdateMessage };
}

function resets(name: string, b: Uint8Array, subcode: number, ctx = CTX): void {
  test(name, () => {
    assert.throws(() => decodeMessage(b, ctx), (e: unknown) => {
      assert.ok(e instanceof BgpError, String(e));
      assert.equal(e.action, 'session-reset');
      assert.equal(e.notification.code, 3);
      assert.equal(e.notification.subcode, subcode);
      assert.equal(e.code, bgpErrorName(3, subcode));
      return true;
    });
  });
}

function withdraws(name: string, b: Uint8Array, attrCode: number, subcode: number, ctx = CTX): void {
  test(name, () => {
    const { m, problems, rawAttributes } = decode(b, ctx);
    assert.ok(problems.some((p) => p.action === 'treat-as-withdraw' && p.attrCode === attrCode && p.subcode === subcode), JSON.stringify(problems));
    assert.deepEqual(m.nlri, []);
    assert.deepEqual(m.withdrawn, ['203.0.113.0/24']);
    assert.equal(rawAttributes, undefined);
  });
}

function discards(name: string, b: Uint8Array, attrCode: number, field: keyof UpdateMessage['attrs'], ctx = CTX): void {
  test(name, () => {
    const { m, problems } = decode(b, ctx);
    assert.deepEqual(problems.map((p) => [p.action, p.attrCode]), [['attribute-discard', attrCode]]);
    assert.equal(m.attrs[field], undefined);
    assert.deepEqual(m.nlri, ['203.0.113.0/24']);
    assert.equal(m.attrs.nextHop, '192.0.2.1');
  });
}

test('Every RFC 7606 rule names its action and cites where the RFC says so', () => {
  for (const [k, r] of Object.entries(UPDATE_ERRORS)) {
    assert.ok(['attribute-discard', 'treat-as-withdraw', 'session-reset'].includes(r.action), k);
    assert.match(r.cite, /RFC \d+ §/, k);
  }
});

// §4: length fields
resets('A withdrawn routes length past the message resets the session (RFC 7606 §4)',
  hex`${'ff'.repeat(16)} 0017 02 0005 0000`, 1);
resets('A total path attribute length past the message resets the session (RFC 7606 §4)',
  hex`${'ff'.repeat(16)} 001b 02 0000 0010 40010100`, 1);
withdraws('An attribute whose length runs past the attributes field is treat-as-withdraw (RFC 7606 §4)',
  update({ attrs: `${BASE} c0 08 08 00000001`, nlri: NLRI }), 8, 5);
withdraws('Too few bytes left for an attribute header is treat-as-withdraw (RFC 7606 §4)',
  update({ attrs: `${BASE} c0 08`, nlri: NLRI }), 8, 5);

// §3: flags, duplicates, missing, unrecognized
withdraws('An ORIGIN flagged optional is treat-as-withdraw (RFC 7606 §3)',
  update({ attrs: `c0 01 01 00 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI }), 1, 4);
withdraws('A missing NEXT_HOP with NLRI present is treat-as-withdraw (RFC 7606 §3)',
  update({ attrs: `${ORIGIN} ${AS_PATH}`, nlri: NLRI }), 3, 3);
withdraws('A missing AS_PATH with NLRI present is treat-as-withdraw (RFC 7606 §3)',
  update({ attrs: `${ORIGIN} ${NEXT_HOP}`, nlri: NLRI }), 2, 3);
test('Missing mandatory attributes do not matter when the UPDATE only withdraws (RFC 7606 §3)', () => {
  const { m, problems } = decode(update({ withdrawn: NLRI, attrs: '80 04 04 00000001' }));
  assert.deepEqual(problems, []);
  assert.deepEqual(m.withdrawn, ['203.0.113.0/24']);
});
test('A missing ORIGIN in an MP_REACH UPDATE withdraws the IPv6 prefixes (RFC 7606 §3, RFC 4760 §3)', () => {
  const mp = '90 0e 001c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001';
  const { m, problems } = decode(update({ attrs: `${mp} ${AS_PATH}` }));
  assert.equal(problems[0].action, 'treat-as-withdraw');
  assert.deepEqual(m.attrs, { mpUnreach: { afi: 2, safi: 1, withdrawn: ['2001:db8:1::/48'] } });
});
test('A duplicate MED is discarded and the first one kept (RFC 7606 §3)', () => {
  const { m, problems, rawAttributes } = decode(update({ attrs: `${BASE} 80 04 04 00000005 80 04 04 00000009`, nlri: NLRI }));
  assert.deepEqual(problems.map((p) => p.action), ['attribute-discard']);
  assert.equal(m.attrs.med, 5);
  assert.deepEqual(m.nlri, ['203.0.113.0/24']);
  assert.equal(toHex(rawAttributes!), `${BASE} 80 04 04 00000005`.replace(/ /g, ''));
});
resets('A second MP_UNREACH_NLRI resets the session (RFC 7606 §3)',
  update({ attrs: '90 0f 0003 0002 01 90 0f 0003 0002 01' }), 1);
resets('An unrecognized well-known attribute resets the session (RFC 4271 §6.3)',
  update({ attrs: `${BASE} 40 63 01 00`, nlri: NLRI }), 2);

// §5.3: NLRI
resets('An IPv4 prefix longer than 32 bits in the NLRI field resets the session (RFC 7606 §5.3)',
  update({ attrs: BASE, nlri: '21 cb007100 00' }), 10);
resets('A prefix running past the NLRI field resets the session (RFC 7606 §5.3)',
  update({ attrs: BASE, nlri: '18 cb00' }), 10);
resets('A malformed withdrawn routes field resets the session (RFC 7606 §5.3)',
  update({ withdrawn: '20 cb0071' }), 10);

// §7: per attribute
withdraws('An ORIGIN of 3 is treat-as-withdraw (RFC 7606 §7.1)', update({ attrs: `40 01 01 03 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI }), 1, 6);
withdraws('An AS_PATH segment of length zero is treat-as-withdraw (RFC 7606 §7.2)',
  update({ attrs: `${ORIGIN} 40 02 02 02 00 ${NEXT_HOP}`, nlri: NLRI }), 2, 11);
withdraws('An AS_PATH segment of unknown type is treat-as-withdraw (RFC 7606 §7.2)',
  update({ attrs: `${ORIGIN} 40 02 06 07 01 0000fde8 ${NEXT_HOP}`, nlri: NLRI }), 2, 11);
withdraws('An AS_PATH segment overrunning the attribute is treat-as-withdraw (RFC 7606 §7.2)',
  update({ attrs: `${ORIGIN} 40 02 06 02 02 0000fde8 ${NEXT_HOP}`, nlri: NLRI }), 2, 11);
withdraws('An AS_PATH with a dangling octet is treat-as-withdraw (RFC 7606 §7.2)',
  update({ attrs: `${ORIGIN} 40 02 07 02 01 0000fde8 02 ${NEXT_HOP}`, nlri: NLRI }), 2, 11);
withdraws('A 2-octet AS_PATH read on a 2-octet session is checked with 2-octet widths (RFC 7606 §7.2)',
  update({ attrs: `${ORIGIN} 40 02 05 02 02 fde8 fd ${NEXT_HOP}`, nlri: NLRI }), 2, 11, { fourOctetAs: false, extendedMessage: false });
withdraws('AS 0 in AS_PATH is treat-as-withdraw (RFC 7607 §2, RFC 7606 §7.2)',
  update({ attrs: `${ORIGIN} 40 02 0a 02 02 0000fde8 00000000 ${NEXT_HOP}`, nlri: NLRI }), 2, 11);
discards('AS 0 in AGGREGATOR is discarded (RFC 7607 §2, RFC 7606 §7.7)', update({ attrs: `${BASE} c0 07 08 00000000 c0000201`, nlri: NLRI }), 7, 'aggregator');
discards('AS 0 in AS4_PATH is discarded (RFC 7607 §2, RFC 6793 §6)',
  update({ attrs: `40 01 01 00 40 02 04 02 01 5ba0 ${NEXT_HOP} c0 11 06 02 01 00000000`, nlri: NLRI }), 17, 'as4Path', { fourOctetAs: false, extendedMessage: false });
withdraws('A NEXT_HOP of 5 bytes is treat-as-withdraw (RFC 7606 §7.3)', update({ attrs: `${ORIGIN} ${AS_PATH} 40 03 05 c000020101`, nlri: NLRI }), 3, 5);
withdraws('A MED of 3 bytes is treat-as-withdraw (RFC 7606 §7.4)', update({ attrs: `${BASE} 80 04 03 000001`, nlri: NLRI }), 4, 5);
withdraws('A LOCAL_PREF of 2 bytes is treat-as-withdraw (RFC 7606 §7.5)', update({ attrs: `${BASE} 40 05 02 0064`, nlri: NLRI }), 5, 5);
discards('An ATOMIC_AGGREGATE with a value is discarded (RFC 7606 §7.6)', update({ attrs: `${BASE} 40 06 01 00`, nlri: NLRI }), 6, 'atomicAggregate');
discards('An AGGREGATOR of 7 bytes is discarded (RFC 7606 §7.7)', update({ attrs: `${BASE} c0 07 07 0000fde8c00002`, nlri: NLRI }), 7, 'aggregator');
withdraws('COMMUNITIES of 6 bytes is treat-as-withdraw (RFC 7606 §7.8)', update({ attrs: `${BASE} c0 08 06 000000010000`, nlri: NLRI }), 8, 9);
withdraws('An ORIGINATOR_ID of 3 bytes is treat-as-withdraw (RFC 7606 §7.9)', update({ attrs: `${BASE} 80 09 03 c00002`, nlri: NLRI }), 9, 5);
withdraws('An empty CLUSTER_LIST is treat-as-withdraw (RFC 7606 §7.10)', update({ attrs: `${BASE} 80 0a 00`, nlri: NLRI }), 10, 5);
withdraws('EXTENDED_COMMUNITIES of 12 bytes is treat-as-withdraw (RFC 7606 §7.14)', update({ attrs: `${BASE} c0 10 0c 000000000000000000000000`, nlri: NLRI }), 16, 9);
withdraws('LARGE_COMMUNITIES of 8 bytes is treat-as-withdraw (RFC 8092 §6)', update({ attrs: `${BASE} c0 20 08 0000000000000000`, nlri: NLRI }), 32, 9);
resets('An IPv6 MP_REACH next hop of 20 bytes resets the session (RFC 7606 §7.11)',
  update({ attrs: `90 0e 0020 0002 01 14 20010db8000000000000000000000001 00000000 00 30 20010db80001 ${ORIGIN} ${AS_PATH}` }), 9);
resets('An IPv6 prefix of length 129 in MP_REACH resets the session (RFC 7606 §7.11, §5.3)',
  update({ attrs: `90 0e 0018 0002 01 10 20010db8000000000000000000000001 00 81 2001 ${ORIGIN} ${AS_PATH}` }), 9);
resets('A truncated MP_UNREACH resets the session (RFC 7606 §7.12)', update({ attrs: '90 0f 0002 0002' }), 9);
test('An MP_REACH for an AFI/SAFI we do not speak is discarded, the rest of the UPDATE kept (RFC 4760 §7)', () => {
  const { m, problems } = decode(update({ attrs: `90 0e 0005 0019 46 00 00 ${BASE}`, nlri: NLRI }));
  assert.deepEqual(problems.map((p) => p.action), ['attribute-discard']);
  assert.equal(m.attrs.mpReach, undefined);
  assert.deepEqual(m.nlri, ['203.0.113.0/24']);
});
discards('An AS4_PATH on a four-octet-AS session is discarded (RFC 6793)', update({ attrs: `${BASE} c0 11 06 02 01 0000fde8`, nlri: NLRI }), 17, 'as4Path');
discards('An AS4_PATH holding only a confederation segment is discarded (RFC 6793 §6)',
  update({ attrs: `40 01 01 00 40 02 04 02 01 fde8 ${NEXT_HOP} c0 11 06 03 01 0000fde8`, nlri: NLRI }), 17, 'as4Path', { fourOctetAs: false, extendedMessage: false });
discards('An AS4_PATH too short to hold an AS number is discarded (RFC 6793 §6)',
  update({ attrs: `40 01 01 00 40 02 04 02 01 fde8 ${NEXT_HOP} c0 11 02 02 00`, nlri: NLRI }), 17, 'as4Path', { fourOctetAs: false, extendedMessage: false });
test('Confederation segments in AS4_PATH are dropped and the rest kept (RFC 6793 §6)', () => {
  const { m, problems } = decode(update({ attrs: `40 01 01 00 40 02 06 02 02 fde8 5ba0 ${NEXT_HOP} c0 11 0c 03 01 0000fde9 02 01 fa56ea00`, nlri: NLRI }), { fourOctetAs: false, extendedMessage: false });
  assert.deepEqual(problems, []);
  assert.deepEqual(m.attrs.as4Path, [{ type: 2, asns: [4200000000] }]);
});
discards('A malformed AS4_AGGREGATOR is discarded (RFC 6793 §6)',
  update({ attrs: `40 01 01 00 40 02 04 02 01 fde8 ${NEXT_HOP} c0 12 06 0000fde80000`, nlri: NLRI }), 18, 'as4Aggregator', { fourOctetAs: false, extendedMessage: false });

test('When several errors occur the strongest action wins (RFC 7606 §3)', () => {
  const { m, problems } = decode(update({ attrs: `40 01 01 07 ${AS_PATH} ${NEXT_HOP} 40 06 01 00`, nlri: NLRI }));
  assert.deepEqual(problems.map((p) => p.action).sort(), ['attribute-discard', 'treat-as-withdraw']);
  assert.deepEqual(m.withdrawn, ['203.0.113.0/24']);
  assert.deepEqual(m.attrs, {});
});

test('treat-as-withdraw keeps the withdrawals the UPDATE already carried', () => {
  const { m } = decode(update({ withdrawn: '18 c63364', attrs: `40 01 01 09 ${AS_PATH} ${NEXT_HOP}`, nlri: NLRI }));
  assert.deepEqual(m.withdrawn, ['198.51.100.0/24', '203.0.113.0/24']);
});

test('A BgpError is a PetrelError with a stable code and the NOTIFICATION data', () => {
  try {
    decodeMessage(hex`${'ff'.repeat(16)} 0013 07`, CTX);
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof BgpError);
    assert.equal(e.code, 'BGP_ERR_BAD_MESSAGE_TYPE');
    assert.deepEqual([e.notification.code, e.notification.subcode, toHex(e.notification.data)], [1, 3, '07']);
  }
});
