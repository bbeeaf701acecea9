import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsLab } from '../../../src/lab/netns.js';
import { assertAlive, baseHandle, makeDir, type Daemon } from './common.js';

/**
 * A minimal BGP speaker that sends exactly the bytes a test gives it: it connects, sends OPEN
 * (4-octet AS, multiprotocol IPv4/IPv6 unicast), answers OPEN with KEEPALIVE, keeps the session
 * alive, and sends each hex message dropped into its command dir. Every message it receives is
 * printed as a JSON line ({"type": 3, "code": 2, "subcode": 2} for a NOTIFICATION). Used for what
 * ExaBGP cannot send, such as an UPDATE missing a mandatory attribute.
 */
const RAW_PEER = String.raw`import json, os, select, socket, struct, sys, time
peer, port, local, asn, rid, hold, cmd_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), sys.argv[7]
def say(**kw):
    sys.stdout.write(json.dumps(kw) + '\n'); sys.stdout.flush()
def msg(t, body):
    return b'\xff' * 16 + struct.pack('!HB', 19 + len(body), t) + body
fam = socket.AF_INET6 if ':' in peer else socket.AF_INET
deadline = time.time() + 3600
while time.time() < deadline:
    try:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.bind((local, 0)); s.settimeout(3); s.connect((peer, port)); break
    except OSError as e:
        say(event='connect-failed', error=str(e)); s.close(); time.sleep(0.5)
s.settimeout(None)
caps = bytes([1, 4, 0, 1, 0, 1]) + bytes([1, 4, 0, 2, 0, 1]) + bytes([65, 4]) + struct.pack('!I', asn)
opt = bytes([2, len(caps)]) + caps
s.sendall(msg(1, struct.pack('!BHH4sB', 4, asn if asn < 65536 else 23456, hold, socket.inet_aton(rid), len(opt)) + opt))
say(event='open-sent')
buf = b''; last_ka = 0; established = False
while time.time() < deadline:
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        d = s.recv(65536)
        if not d:
            say(event='closed'); break
        buf += d
        while len(buf) >= 19:
            ln, t = struct.unpack('!HB', buf[16:19])
            if len(buf) < ln: break
            body = buf[19:ln]; buf = buf[ln:]
            if t == 3:
                say(type=3, code=body[0], subcode=body[1], data=body[2:].hex())
            else:
                say(type=t, length=ln)
            if t == 1:
                s.sendall(msg(4, b'')); last_ka = time.time()
            if t == 4 and not established:
                established = True; say(event='established')
    if established and time.time() - last_ka > max(1, hold // 3):
        s.sendall(msg(4, b'')); last_ka = time.time()
    if established:
        for f in sorted(os.listdir(cmd_dir)):
            if not f.endswith('.hex'): continue
            p = os.path.join(cmd_dir, f)
            with open(p) as fh: data = bytes.fromhex(fh.read().strip())
            os.unlink(p)
            s.sendall(data); say(event='sent', file=f, length=len(data))
`;

export interface RawPeer extends Daemon {
  readonly kind: 'raw';
  /** Sends one whole BGP message given as hex (header included). */
  sendHex(hex: string): void;
  /** Every JSON line the sender printed (received messages and events). */
  events(): Array<{ event?: string; type?: number; code?: number; subcode?: number }>;
  notifications(): Array<{ code: number; subcode: number }>;
}

export async function startRawPeer(lab: NetnsLab, ns: string, opts: { name?: string; peer: string; port?: number; localAddress: string; asn: number; routerId: string; holdTime?: number }): Promise<RawPeer> {
  const name = opts.name ?? 'raw';
  const dir = makeDir(lab, name);
  const cmdDir = join(dir, 'cmds');
  mkdirSync(cmdDir);
  const script = join(dir, 'rawpeer.py');
  writeFileSync(script, RAW_PEER);
  const proc = lab.spawn(name, ns, 'python3', [script, opts.peer, String(opts.port ?? 179), opts.localAddress, String(opts.asn), opts.routerId, String(opts.holdTime ?? 9), cmdDir]);
  await assertAlive(proc, `raw peer ${name}`, 200);
  let seq = 0;
  const events = () => proc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
  return {
    ...baseHandle(lab, 'raw', name, ns, dir, proc),
    kind: 'raw',
    sendHex: (hex) => {
      const file = join(cmdDir, String(seq++).padStart(6, '0'));
      writeFileSync(file + '.tmp', hex.replace(/\s+/g, ''));
      renameSync(file + '.tmp', file + '.hex');
    },
    events,
    notifications: () => events().filter((e) => e.type === 3).map((e) => ({ code: e.code, subcode: e.subcode })),
    routes: () => { throw new Error('the raw peer keeps no RIB'); },
    peers: () => {
      const ev = events();
      const up = ev.some((e) => e.event === 'established') && !ev.some((e) => e.event === 'closed' || e.type === 3);
      return [{ name: opts.peer, address: opts.peer, state: up ? 'Established' : 'Idle', established: up }];
    },
  };
}
