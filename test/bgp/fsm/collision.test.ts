/** Connection collision resolution (RFC 4271 §6.8, RFC 6286 §2.3). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collisionLoser, incomingVerdict } from '../../../src/bgp/fsm/index.js';
import { CONN, Driver } from './driver.js';
import type { OpenMessage } from '../../../src/bgp/wire/types.js';

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

// ---------------------------------------------------------------- a new connection from the peer, per state

const INBOUND = { ...CONN, outbound: false };

test('incoming in Idle before the session was started, or after ManualStop/AutomaticStop: refused', () => {
  assert.equal(incomingVerdict(new Driver().state), 'refuse');
  assert.equal(incomingVerdict(new Driver().toEstablished().fire({ kind: 'ManualStop' }).state), 'refuse');
  assert.equal(incomingVerdict(new Driver().toOpenSent().fire({ kind: 'AutomaticStop' }).state), 'refuse');
});

test('incoming in Idle while the IdleHoldTimer runs: taken by the peer\'s FSM', () => {
  const d = new Driver().toConnect().fire({ kind: 'TcpConnectionFails' });
  assert.equal(d.state.idleHolding, true);
  assert.equal(incomingVerdict(d.state), 'take');
});

test('incoming in Connect (our SYN in flight): races beside our attempt', () => {
  assert.equal(incomingVerdict(new Driver().toConnect().state), 'race');
});

test('incoming in Active without a connection: taken', () => {
  assert.equal(incomingVerdict(new Driver({ passive: true }).fire({ kind: 'ManualStart' }).state), 'take');
});

test('incoming in Active while the peer\'s earlier connection waits out DelayOpen: supersedes it', () => {
  const d = new Driver({ passive: true, delayOpenTime: 5 }).fire({ kind: 'ManualStart' }).fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  assert.equal(d.state.name, 'Active');
  assert.equal(incomingVerdict(d.state), 'supersede');
});

test('incoming in OpenSent/OpenConfirm on our own connection: races, and §6.8 decides at the OPEN', () => {
  assert.equal(incomingVerdict(new Driver().toOpenSent().state), 'race');
  assert.equal(incomingVerdict(new Driver().toOpenConfirm().state), 'race');
});

test('incoming in OpenSent/OpenConfirm on a connection the peer opened: the newer one supersedes it', () => {
  const sent = new Driver({ passive: true }).fire({ kind: 'ManualStart' }).fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  assert.equal(sent.state.name, 'OpenSent');
  assert.equal(incomingVerdict(sent.state), 'supersede');
  const confirm = new Driver({ passive: true }).fire({ kind: 'ManualStart' }).fire({ kind: 'TcpConnectionConfirmed', conn: INBOUND });
  confirm.fire({ kind: 'BGPOpen', open: { type: 'open', version: 4, myAs: 65002, holdTime: 30, bgpId: '192.0.2.2', capabilities: [] } });
  assert.equal(confirm.state.name, 'OpenConfirm');
  assert.equal(incomingVerdict(confirm.state), 'supersede');
});

test('incoming in Established: refused (CollisionDetectEstablishedState is off)', () => {
  assert.equal(incomingVerdict(new Driver().toEstablished().state), 'refuse');
});

test('incoming in Established with Graceful Restart negotiated: the peer restarted, the new connection replaces the session', () => {
  const gr = { restartTime: 120, restarting: true, forwardingPreserved: true };
  const open: OpenMessage = { type: 'open', version: 4, myAs: 65002, holdTime: 30, bgpId: '192.0.2.2', capabilities: [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'graceful-restart', restarting: true, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingPreserved: true }] },
  ] };
  const d = new Driver({ gracefulRestart: gr }).toEstablished(open);
  assert.ok(d.state.negotiated?.gracefulRestart, 'GR negotiated');
  assert.equal(incomingVerdict(d.state), 'restart');
});
