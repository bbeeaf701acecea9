/**
 * The RIB: Adj-RIB-In and Loc-RIB with best-path reasons (loc-rib.ts, best-path.ts), interned
 * attribute sets (attrs.ts), export policy and route reflection (export.ts), Adj-RIB-Out with update
 * groups (adj-rib-out.ts), composed by rib.ts. Pure: no sockets, no timers; the speaker wires it to
 * sessions.
 */
export { Rib, type RibOptions, type LocalRoute } from './rib.js';
export { AdjRibOut, UpdateGroup } from './adj-rib-out.js';
export { AttrStore } from './attrs.js';
export { COMPARATORS, comparePaths, selectBest, bestReason } from './best-path.js';
export { exportAttrs, exportable, groupKindOf, type GroupKind } from './export.js';
export { LocRib, type Change } from './loc-rib.js';
export { toBestRoute, toRouteView, formatCommunity } from './views.js';
export type * from './types.js';
