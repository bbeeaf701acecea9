/**
 * Properties of the FSM over random event sequences (fast-check): whatever the peer, the network or
 * the operator does, step() never throws and the state stays coherent with the actions it emitted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { initialState, step, type FsmEvent, type TimerName } from '../../../src/bgp/fsm/index.js';
import { CFG, CONN, peerOpen } from './driver.js';

const notif = (code: number, subcode: number) => ({ type: 'notification' as const, code, subcode, data: new Uint8Array(0) });

const EVENTS: FsmEvent[] = [
  { kind: 'ManualStart' }, { kind: 'ManualStop' }, { kind: 'AutomaticStart' },
  { kind: 'ManualStart_with_PassiveTcpEstablishment' }, { kind: 'AutomaticStart_with_PassiveTcpEstablishment' },
  { kind: 'AutomaticStart_with_DampPeerOscillations' }, { kind: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment' },
  { kind: 'AutomaticStop' }, { kind: 'ConnectRetryTimer_Expires' }, { kind: 'HoldTimer_Expires' }, { kind: 'KeepaliveTimer_Expires' },
  { kind: 'DelayOpenTimer_Expires' }, { kind: 'IdleHoldTimer_Expires' }, { kind: 'TcpConnection_Valid' }, { kind: 'Tcp_CR_Invalid' },
  { kind: 'Tcp_CR_Acked', conn: CONN }, { kind: 'TcpConnectionConfirmed', conn: { ...CONN, outbound: false } }, { kind: 'TcpConnectionFails' },
  { kind: 'BGPOpen', open: peerOpen() }, { kind: 'BGPOpen', open: peerOpen({ holdTime: 0 }) }, { kind: 'BGPOpen', open: peerOpen({ myAs: 1, capabilities: [] }) },
  { kind: 'BGPHeaderErr', notification: notif(1, 2) }, { kind: 'BGPOpenMsgErr', notification: notif(2, 4) }, { kind: 'OpenCollisionDump' },
  { kind: 'NotifMsgVerErr', notification: notif(2, 1) }, { kind: 'NotifMsg', notification: notif(6, 2) }, { kind: 'KeepAliveMsg' },
  { kind: 'UpdateMsg', update: { type: 'update', withdrawn: [], attrs: {}, nlri: [] }, problems: [] },
  { kind: 'UpdateMsgErr', notification: notif(3, 1) },
  { kind: 'RouteRefreshMsg', message: { type: 'route-refresh', afi: 1, safi: 1, subtype: 0 } }, { kind: 'StableTimer_Expires' },
  { kind: 'InternalError', message: 'bug' },
];

const RUNS = Number(process.env.PETREL_FSM_RUNS ?? 2000);

test('any sequence of events keeps the FSM state coherent with the actions it emitted', () => {
  fc.assert(
    fc.property(
      fc.record({ passive: fc.boolean(), delayOpenTime: fc.constantFrom(0, 5) }),
      fc.array(fc.integer({ min: 0, max: EVENTS.length - 1 }), { maxLength: 60 }),
      (cfgOver, seq) => {
        let s = initialState({ ...CFG, ...cfgOver });
        const running = new Set<TimerName>();
        for (const i of seq) {
          const before = s.name;
          const r = step(s, EVENTS[i]);
          s = r.state;
          for (const a of r.actions) {
            if (a.kind === 'startTimer') running.add(a.timer);
            if (a.kind === 'stopTimer') running.delete(a.timer);
          }
          const kinds = r.actions.map((a) => a.kind);
          // Falling into Idle drops the connection and tells the session why.
          if (s.name === 'Idle' && before !== 'Idle') {
            assert.ok(kinds.includes('disconnect') && kinds.includes('down'), `${before} -> Idle without disconnect/down`);
          }
          // In Idle nothing runs but the idle hold.
          if (s.name === 'Idle') assert.deepEqual([...running].filter((t) => t !== 'IdleHold'), []);
          // A NOTIFICATION always ends the connection in the same step.
          if (r.actions.some((a) => a.kind === 'send' && a.message.type === 'notification')) {
            assert.equal(s.name, 'Idle');
            assert.ok(kinds.includes('disconnect'));
          }
          // Established is entered only from OpenConfirm, announcing what was negotiated.
          if (kinds.includes('established')) assert.equal(before, 'OpenConfirm');
          if (s.name === 'Established' && before !== 'Established') assert.ok(kinds.includes('established'));
          // What was negotiated exists exactly while an OPEN has been accepted.
          assert.equal(s.negotiated !== undefined, s.name === 'OpenConfirm' || s.name === 'Established');
          // With a non-zero hold time, a session past the OPEN exchange always has its HoldTimer running.
          if ((s.name === 'OpenConfirm' || s.name === 'Established') && (s.negotiated?.holdTime ?? 0) > 0) assert.ok(running.has('Hold'));
          if (s.name === 'OpenSent') assert.ok(running.has('Hold'));
          // A passive FSM never initiates a connection.
          if (s.passive && before !== 'Idle') assert.ok(!kinds.includes('connect'));
        }
      },
    ),
    { numRuns: RUNS },
  );
});
