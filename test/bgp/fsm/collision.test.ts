/** Connection collision resolution (RFC 4271 §6.8, RFC 6286 §2.3). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collisionLoser } from '../../../src/bgp/fsm/index.js';

test('the speaker with the lower BGP identifier closes the connection it initiated', () => {
  assert.equal(collisionLoser({ routerId: '192.0.2.1', asn: 65001 }, { routerId: '192.0.2.2', asn: 65001 }), 'outbound');
});

test('the speaker with the higher BGP identifier closes the connection the peer initiated', () => {
  assert.equal(collisionLoser({ routerId: '192.0.2.2', asn: 65001 }, { routerId: '192.0.2.1', asn: 65001 }), 'inbound');
});

test('identifiers compare as unsigned 32-bit numbers, not as strings', () => {
  // 198.18.0.9 < 198.18.0.10 as numbers although it sorts after it as text.
  assert.equal(collisionLoser({ routerId: '198.18.0.9', asn: 1 }, { routerId: '198.18.0.10', asn: 1 }), 'outbound');
  assert.equal(collisionLoser({ routerId: '198.18.0.10', asn: 1 }, { routerId: '198.18.0.9', asn: 1 }), 'inbound');
});

test('equal identifiers are settled by the AS numbers: the larger AS keeps its own connection', () => {
  assert.equal(collisionLoser({ routerId: '192.0.2.1', asn: 65002 }, { routerId: '192.0.2.1', asn: 65001 }), 'inbound');
  assert.equal(collisionLoser({ routerId: '192.0.2.1', asn: 65001 }, { routerId: '192.0.2.1', asn: 65002 }), 'outbound');
});
