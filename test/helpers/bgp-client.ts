/**
 * A BGP peer for in-process tests, over a real TCP connection: it sends an OPEN it builds byte by
 * byte (4-octet AS, multiprotocol for the families asked), answers OPEN with KEEPALIVE, keeps the
 * session alive, and sends whatever bytes a test gives it — well-formed UPDATEs or garbage. Every
 * message received is cut by its header length and kept raw; NOTIFICATIONs are kept decoded by
 * hand (code, subcode, data), so a test sees exactly the bytes the speaker sent.
 */
import net from 'node:net';

export interface ReceivedNotification {
  code: number;
  subcode: number;
  data: Uint8Array;
}

export interface TestPeerOptions {
  host: string;
  port: number;
  localAddress?: string;
  asn: number;
  routerId: string;
  holdTime?: number;
  families?: Array<'ipv4' | 'ipv6'>;
}

function frame(type: number, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(19 + body.length).fill(0xff, 0, 16);
  b[16] = (19 + body.length) >> 8;
  b[17] = (19 + body.length) & 255;
  b[18] = type;
  b.set(body, 19);
  return b;
}

export function openMessage(o: { asn: number; routerId: string; holdTime: number; families: Array<'ipv4' | 'ipv6'> }): Uint8Array {
  const caps: number[] = [];
  for (const f of o.families) caps.push(1, 4, 0, f === 'ipv4' ? 1 : 2, 0, 1);
  caps.push(65, 4, o.asn >>> 24, (o.asn >>> 16) & 255, (o.asn >>> 8) & 255, o.asn & 255);
  const as2 = o.asn < 65536 ? o.asn : 23456;
  const body = [4, as2 >> 8, as2 & 255, o.holdTime >> 8, o.holdTime & 255, ...o.routerId.split('.').map(Number), caps.length + 2, 2, caps.length, ...caps];
  return frame(1, Uint8Array.from(body));
}

export const KEEPALIVE = frame(4, new Uint8Array(0));

export class TestPeer {
  readonly notifications: ReceivedNotification[] = [];
  /** Every message received, raw (header included). */
  readonly received: Uint8Array[] = [];
  readonly established: Promise<void>;
  readonly closed: Promise<void>;
  isClosed = false;
  isEstablished = false;
  private buf = Buffer.alloc(0);
  private timer: NodeJS.Timeout | undefined;

  private constructor(readonly socket: net.Socket, o: TestPeerOptions) {
    const hold = o.holdTime ?? 9;
    let up: () => void = () => {};
    this.established = new Promise((r) => (up = r));
    this.closed = new Promise((r) => socket.once('close', () => {
      this.isClosed = true;
      if (this.timer) clearInterval(this.timer);
      r();
    }));
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 19) {
        const len = this.buf.readUInt16BE(16);
        if (len < 19 || this.buf.length < len) break;
        const m = new Uint8Array(this.buf.subarray(0, len));
        this.buf = this.buf.subarray(len);
        this.received.push(m);
        if (m[18] === 1) socket.write(KEEPALIVE);
        if (m[18] === 3) this.notifications.push({ code: m[19], subcode: m[20], data: m.slice(21) });
        if (m[18] === 4 && !this.isEstablished) {
          this.isEstablished = true;
          up();
        }
      }
    });
    if (hold > 0) {
      this.timer = setInterval(() => { if (this.isEstablished && !this.isClosed) socket.write(KEEPALIVE); }, Math.max(1, Math.floor(hold / 3)) * 1000);
      this.timer.unref();
    }
    socket.write(openMessage({ asn: o.asn, routerId: o.routerId, holdTime: hold, families: o.families ?? ['ipv4'] }));
  }

  static connect(o: TestPeerOptions): Promise<TestPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
      s.once('connect', () => resolve(new TestPeer(s, o)));
      s.once('error', reject);
    });
  }

  send(bytes: Uint8Array): void {
    if (!this.isClosed) this.socket.write(bytes);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.socket.destroy();
  }
}
