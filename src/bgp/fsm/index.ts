/**
 * bgp/fsm: the BGP-4 finite state machine of RFC 4271 §8 as pure code. No sockets, no timers, no
 * node:* imports (scripts/check-boundaries.mjs keeps it so): src/bgp/session feeds it events and
 * performs the actions it returns. See fsm.ts for the state switches, open.ts for OPEN building and
 * validation, collision.ts for §6.8.
 */
export { step, initialState } from './fsm.js';
export { buildOpen, validateOpen, peerAsOf, negotiateFamilies, notification, bgpIdToNumber, AS_TRANS, BGP_VERSION } from './open.js';
export { collisionLoser, incomingVerdict, type IncomingVerdict } from './collision.js';
export * from './types.js';
