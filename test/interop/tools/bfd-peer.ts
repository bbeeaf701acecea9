/**
 * A Petrel BFD endpoint as a process, for interop tests that need it inside a network namespace
 * (`ip netns exec NS node --import tsx bfd-peer.ts --local A --peer B [--tx MS --rx MS --mult N]`).
 * Prints one JSON line per event on stdout: {"ready":true,"srcPort":…} once its sockets are bound,
 * {"peer","from","to","diag","t"} on every state change. SIGTERM ends the session (AdminDown) and exits.
 */
import { parseArgs } from 'node:util';
import { BfdEndpoint } from '../../../src/bfd/endpoint.js';
import { UdpBfdTransport } from '../../../src/bfd/udp.js';

const { values } = parseArgs({ options: { local: { type: 'string' }, peer: { type: 'string' }, tx: { type: 'string' }, rx: { type: 'string' }, mult: { type: 'string' } } });
const local = values.local!;
const peer = values.peer!;
const transport = new UdpBfdTransport({ localAddress: local });
const clock = { now: () => performance.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
const ep = new BfdEndpoint(transport, { clock });
transport.onPacket = (from, bytes) => ep.receive(from, bytes);
ep.on('state', (p, from, to, diag) => process.stdout.write(`${JSON.stringify({ peer: p, from, to, diag, t: Date.now() })}\n`));
await transport.open();
ep.add(peer, { minTxMs: Number(values.tx ?? 300), minRxMs: Number(values.rx ?? 300), multiplier: Number(values.mult ?? 3) });
setTimeout(() => process.stdout.write(`${JSON.stringify({ ready: true, srcPort: transport.sourcePort(peer) })}\n`), 200);
const dropsTimer = setInterval(() => process.stdout.write(`${JSON.stringify({ dropped: Object.fromEntries(ep.dropped) })}\n`), 1000);
process.on('SIGTERM', () => {
  clearInterval(dropsTimer);
  ep.stop();
  setTimeout(() => {
    transport.close();
    process.exit(0);
  }, 100);
});
