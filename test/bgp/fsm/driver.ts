/**
 * A tiny driver for FSM tests: feeds events to the pure step(), records the actions, and runs the
 * timer actions on a FakeClock so that timer expiry comes back as the RFC event when a test advances
 * time. It is the session's loop without sockets.
 */
import { initialState, step, TIMER_EXPIRED } from '../../../src/bgp/fsm/index.js';
import type { ConnInfo, FsmAction, FsmConfig, FsmEvent, FsmState, TimerName } from '../../../src/bgp/fsm/index.js';
import type { BgpMessage, OpenMessage } from '../../../src/bgp/wire/types.js';
import { FakeClock } from '../../helpers/fake-clock.js';

export const CFG: FsmConfig = {
  localAsn: 65001,
  peerAsn: 65002,
  routerId: '192.0.2.1',
  holdTime: 90,
  connectRetryTime: 120,
  families: ['ipv4', 'ipv6'],
  passive: false,
  delayOpenTime: 0,
  idleHoldTime: 5,
  idleHoldMaxTime: 120,
};

export const CONN: ConnInfo = { localAddress: '192.0.2.1', localPort: 40001, remoteAddress: '192.0.2.2', remotePort: 179, outbound: true };

export function peerOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 'open',
    version: 4,
    myAs: 65002,
    holdTime: 30,
    bgpId: '192.0.2.2',
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', asn: 65002 },
    ],
    ...over,
  };
}


export class Driver {
  state: FsmState;
  readonly clock = new FakeClock();
  /** Every action since the last take(). */
  actions: FsmAction[] = [];
  private timers = new Map<TimerName, unknown>();

  constructor(cfg: Partial<FsmConfig> = {}) {
    this.state = initialState({ ...CFG, ...cfg });
  }

  fire(e: FsmEvent): this {
    const r = step(this.state, e);
    this.state = r.state;
    this.actions.push(...r.actions);
    for (const a of r.actions) {
      if (a.kind === 'startTimer' || a.kind === 'stopTimer') {
        const h = this.timers.get(a.timer);
        if (h !== undefined) this.clock.clearTimeout(h);
        this.timers.delete(a.timer);
      }
      if (a.kind === 'startTimer') {
        const t = a.timer;
        this.timers.set(t, this.clock.setTimeout(() => {
          this.timers.delete(t);
          this.fire(TIMER_EXPIRED[t]);
        }, a.ms));
      }
    }
    return this;
  }

  running(t: TimerName): boolean {
    return this.timers.has(t);
  }

  take(): FsmAction[] {
    const a = this.actions;
    this.actions = [];
    return a;
  }

  sent(): BgpMessage[] {
    return this.take().flatMap((a) => (a.kind === 'send' ? [a.message] : []));
  }

  kinds(): string[] {
    return this.take().map((a) => (a.kind === 'send' ? `send:${a.message.type}` : a.kind === 'startTimer' || a.kind === 'stopTimer' ? `${a.kind}:${a.timer}` : a.kind));
  }

  toConnect(): this {
    this.fire({ kind: 'ManualStart' });
    this.take();
    return this;
  }
  toOpenSent(): this {
    this.toConnect().fire({ kind: 'Tcp_CR_Acked', conn: CONN });
    this.take();
    return this;
  }
  toOpenConfirm(open = peerOpen()): this {
    this.toOpenSent().fire({ kind: 'BGPOpen', open });
    this.take();
    return this;
  }
  toEstablished(open = peerOpen()): this {
    this.toOpenConfirm(open).fire({ kind: 'KeepAliveMsg' });
    this.take();
    return this;
  }
}
