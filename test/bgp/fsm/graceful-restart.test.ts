/**
 * Graceful Restart (RFC 4724) in the OPEN exchange and the FSM: the capability we send, what is
 * negotiated from the peer's, and the graceful ManualStop that closes without a NOTIFICATION.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOpen, validateOpen } from '../../../src/bgp/fsm/index.js';
import type { Capability } from '../../../src/bgp/wire/types.js';
import { CFG, CONN, Driver, peerOpen } from './driver.js';

const GR = { restartTime: 120, restarting: false, forwardingPreserved: true };

function grCap(c: Partial<Extract<Capability, { kind: 'graceful-restart' }>> = {}): Capability {
  return { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 90, families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: false }], ...c };
}

test('without gracefulRestart in the config our OPEN carries no Graceful Restart capability', () => {
  assert.equal(buildOpen(CFG).capabilities.some((c) => c.kind === 'graceful-restart'), false);
});

test('our OPEN carries the restart time, the R bit and each configured family with the F bit', () => {
  const o = buildOpen({ ...CFG, families: ['ipv4', 'ipv6'], gracefulRestart: { restartTime: 45, restarting: true, forwardingPreserved: true } });
  assert.deepEqual(o.capabilities.find((c) => c.kind === 'graceful-restart'), {
    kind: 'graceful-restart', restarting: true, notification: false, restartTime: 45,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }, { afi: 2, safi: 1, forwardingPreserved: true }],
  });
});

test('a restart time beyond 12 bits is clamped to 4095 (RFC 4724 §3)', () => {
  const o = buildOpen({ ...CFG, gracefulRestart: { ...GR, restartTime: 99_999 } });
  const c = o.capabilities.find((x) => x.kind === 'graceful-restart');
  assert.equal(c?.kind === 'graceful-restart' && c.restartTime, 4095);
});

test('both sides with the capability: the peer\'s restart time, R bit and families with F bits are negotiated', () => {
  const caps = [...peerOpen().capabilities, grCap({ restarting: true })];
  const r = validateOpen({ ...CFG, gracefulRestart: GR }, peerOpen({ capabilities: caps }), CONN);
  assert.ok(r.ok);
  assert.deepEqual(r.negotiated.gracefulRestart, {
    restartTime: 90, restarting: true, notification: false,
    families: [{ family: 'ipv4', forwardingPreserved: true }, { family: 'ipv6', forwardingPreserved: false }],
  });
});

test('a family the session did not negotiate is left out of the peer\'s Graceful Restart families', () => {
  const caps = [...peerOpen().capabilities, grCap()];
  const r = validateOpen({ ...CFG, families: ['ipv4'], gracefulRestart: GR }, peerOpen({ capabilities: caps }), CONN);
  assert.ok(r.ok);
  assert.deepEqual(r.negotiated.gracefulRestart?.families, [{ family: 'ipv4', forwardingPreserved: true }]);
});

test('Graceful Restart is not negotiated when only the peer advertises it, nor when only we do', () => {
  const withCap = peerOpen({ capabilities: [...peerOpen().capabilities, grCap()] });
  const a = validateOpen(CFG, withCap, CONN);
  assert.ok(a.ok);
  assert.equal(a.negotiated.gracefulRestart, undefined);
  const b = validateOpen({ ...CFG, gracefulRestart: GR }, peerOpen(), CONN);
  assert.ok(b.ok);
  assert.equal(b.negotiated.gracefulRestart, undefined);
});

test('a helper-only peer (capability without families) negotiates GR with no family to keep', () => {
  const r = validateOpen({ ...CFG, gracefulRestart: GR }, peerOpen({ capabilities: [...peerOpen().capabilities, grCap({ families: [] })] }), CONN);
  assert.ok(r.ok);
  assert.deepEqual(r.negotiated.gracefulRestart, { restartTime: 90, restarting: false, families: [], notification: false });
});

test('Established: a graceful ManualStop with GR negotiated closes the connection without a NOTIFICATION', () => {
  const d = new Driver({ gracefulRestart: GR }).toEstablished(peerOpen({ capabilities: [...peerOpen().capabilities, grCap()] }));
  const actions = d.fire({ kind: 'ManualStop', graceful: true, message: 'restart' }).take();
  assert.equal(d.state.name, 'Idle');
  assert.equal(actions.some((a) => a.kind === 'send'), false, 'no NOTIFICATION');
  assert.ok(actions.some((a) => a.kind === 'disconnect'));
  const down = actions.find((a) => a.kind === 'down');
  assert.equal(down?.kind === 'down' && down.reason.code, 'BGP_GRACEFUL_STOP');
  d.clock.advance(600_000);
  assert.equal(d.state.name, 'Idle', 'no automatic restart');
});

test('Established: a graceful ManualStop without GR negotiated still sends the Cease', () => {
  const d = new Driver({ gracefulRestart: GR }).toEstablished();
  const sent = d.fire({ kind: 'ManualStop', graceful: true, subcode: 2 }).sent();
  assert.deepEqual(sent.map((m) => m.type === 'notification' && [m.code, m.subcode]), [[6, 2]]);
});

test('OpenConfirm: a graceful ManualStop sends the Cease (there is no session to keep)', () => {
  const d = new Driver({ gracefulRestart: GR }).toOpenConfirm(peerOpen({ capabilities: [...peerOpen().capabilities, grCap()] }));
  const sent = d.fire({ kind: 'ManualStop', graceful: true }).sent();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].type, 'notification');
});

const GR_N = { ...GR, notification: true };
const nOpen = () => peerOpen({ capabilities: [...peerOpen().capabilities, grCap({ notification: true })] });

test('the N bit (RFC 8538) is advertised when configured and negotiated only when both sides set it', () => {
  const c = buildOpen({ ...CFG, gracefulRestart: GR_N }).capabilities.find((x) => x.kind === 'graceful-restart');
  assert.equal(c?.kind === 'graceful-restart' && c.notification, true);
  const both = validateOpen({ ...CFG, gracefulRestart: GR_N }, nOpen(), CONN);
  assert.ok(both.ok);
  assert.equal(both.negotiated.gracefulRestart?.notification, true);
  const onlyPeer = validateOpen({ ...CFG, gracefulRestart: GR }, nOpen(), CONN);
  assert.ok(onlyPeer.ok);
  assert.equal(onlyPeer.negotiated.gracefulRestart?.notification, false);
});

test('Established with the N bit: an operator stop is a Hard Reset carrying the Cease it stands for (RFC 8538 §3)', () => {
  const d = new Driver({ gracefulRestart: GR_N }).toEstablished(nOpen());
  const sent = d.fire({ kind: 'ManualStop', subcode: 3, message: 'gone' }).sent();
  assert.equal(sent.length, 1);
  const n = sent[0];
  assert.ok(n.type === 'notification');
  assert.deepEqual([n.code, n.subcode], [6, 9]);
  assert.deepEqual([...n.data], [6, 3, 4, ...new TextEncoder().encode('gone')]);
});

test('Established with the N bit: a graceful stop sends Cease / Administrative Reset, not a Hard Reset', () => {
  const d = new Driver({ gracefulRestart: GR_N }).toEstablished(nOpen());
  const actions = d.fire({ kind: 'ManualStop', graceful: true, message: 'upgrade' }).take();
  const sent = actions.flatMap((a) => (a.kind === 'send' ? [a.message] : []));
  assert.deepEqual(sent.map((m) => m.type === 'notification' && [m.code, m.subcode, m.shutdownMessage]), [[6, 4, 'upgrade']]);
  const down = actions.find((a) => a.kind === 'down');
  assert.equal(down?.kind === 'down' && down.reason.code, 'BGP_GRACEFUL_STOP');
});
