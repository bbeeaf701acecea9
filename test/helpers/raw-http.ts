// Raw HTTP over a TCP socket: for requests no HTTP client would send (`GET //[ HTTP/1.1`, bad
// syntax, oversized headers). Bounded: every helper gives up after `timeoutMs`.
import net from 'node:net';

export interface RawAnswer {
  /** Status code of the first response line, or undefined when the server sent nothing. */
  status: number | undefined;
  text: string;
}

/** Length of the first complete response in `b` (headers + Content-Length body), or -1. */
function completeLength(b: Buffer): number {
  const end = b.indexOf('\r\n\r\n');
  if (end < 0) return -1;
  const m = /\r\ncontent-length: *(\d+)/i.exec(b.subarray(0, end).toString('latin1'));
  if (!m) return -1;
  const total = end + 4 + Number(m[1]);
  return b.length >= total ? total : -1;
}

/**
 * Writes `bytes`, reads until the server closes or one complete response came (or `timeoutMs`),
 * returns what came back.
 */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close from 127.0.0.1:${port} within ${timeoutMs} ms; got: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      if (completeLength(Buffer.concat(chunks)) >= 0) sock.destroy();
    });
    sock.on('error', () => {}); // a reset after the answer is fine; 'close' follows
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text });
    });
  });
}

/** GET `path` with Connection: close; the status and body. */
export async function rawGet(port: number, path: string, timeoutMs = 5000): Promise<{ status: number | undefined; body: string }> {
  const r = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, timeoutMs);
  const i = r.text.indexOf('\r\n\r\n');
  return { status: r.status, body: i < 0 ? '' : r.text.slice(i + 4) };
}

/** Requests no server should die of; each must be answered with a 4xx or closed. */
export const MALFORMED_REQUESTS: Array<[string, string | Buffer]> = [
  ['a path that URL() cannot parse (//[)', 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['an absolute-form target that URL() cannot parse (http://[)', 'GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a target that is no path at all', 'GET [::1 HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['bad percent-encoding in the query', 'GET /routes?prefix=%E0%A4%A&limit=%ZZ HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['bad percent-encoding in the path', 'GET /%ZZ%%/status HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a 64 KiB header', `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65536)}\r\n\r\n`],
  ['ten thousand headers', `GET /status HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(10000)}\r\n`],
  ['a NUL byte in the target', Buffer.from('GET /sta\0tus HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1')],
  ['not HTTP at all', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])],
  ['a bad Content-Length', 'POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'],
  ['two Content-Lengths', 'POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
  ['an HTTP/1.1 request without Host', 'GET /status HTTP/1.1\r\n\r\n'],
  ['a garbage continue token', 'GET /routes?continue=%00%ff! HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a negative limit', 'GET /routes?limit=-1 HTTP/1.1\r\nHost: x\r\n\r\n'],
];
