/**
 * bgp/session: the BGP code that touches sockets and timers. Session drives the pure FSM (bgp/fsm)
 * for one peer over TCP with an injected Clock; BgpListener accepts connections and hands them to
 * the matching Session. Framing and decoding are the codec's (bgp/wire); RIBs are the speaker's.
 */
export { Session, type SessionDeps } from './session.js';
export { normalizeAddress } from './connection.js';
export { BgpListener } from './listener.js';
export { realClock } from './clock.js';
export * from './types.js';
