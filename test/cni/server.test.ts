/**
 * The socket framing between the executable and the agent (src/cni/server.ts), and what a hostile or
 * broken request gets: an error object, never a throw.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { answer, decodeRequest, encodeRequest } from '../../src/cni/server.js';

const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'petrel', type: 'petrel' });

describe('cni/server framing', () => {
  it('round-trips the environment and stdin; only CNI_* variables travel', () => {
    const b = encodeRequest({ CNI_COMMAND: 'ADD', CNI_ARGS: 'A=b=c', HOME: '/root' }, conf);
    const d = decodeRequest(b);
    assert.deepEqual(d.env, { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=b=c' });
    assert.equal(d.stdin.toString(), conf);
  });

  it('a request cut at any byte gives an error object, never a throw', async () => {
    const b = encodeRequest({ CNI_COMMAND: 'STATUS' }, conf);
    for (let i = 0; i < b.length; i++) {
      const a = await answer(b.subarray(0, i), async () => ({ status: 0 }));
      if (a.status === 0) continue; // a cut inside stdin can still be a complete request
      const body = JSON.parse(a.body) as { code: number; msg: string };
      assert.ok([4, 6, 7].includes(body.code), `cut at ${i}: ${a.body}`);
    }
  });

  it('a throw inside a verb becomes code 100 with its message', async () => {
    const a = await answer(encodeRequest({ CNI_COMMAND: 'STATUS' }, conf), async () => { throw new TypeError('boom'); });
    assert.equal(a.status, 1);
    assert.deepEqual(JSON.parse(a.body), { cniVersion: '1.1.0', code: 100, msg: 'internal error in the petrel agent', details: 'boom' });
  });

  it('VERSION needs no verb handler', async () => {
    const a = await answer(encodeRequest({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}'), async () => { throw new Error('not called'); });
    assert.equal(a.status, 0);
    assert.equal(JSON.parse(a.body).cniVersion, '0.4.0');
  });

  it('refuses garbage magic and too many environment entries', async () => {
    assert.equal(JSON.parse((await answer(Buffer.from('GET / HTTP/1.1\r\n\r\n'), async () => ({ status: 0 }))).body).code, 6);
    const many = Buffer.concat([Buffer.from('PCNI1\0'), ...Array.from({ length: 100 }, (_, i) => Buffer.from(`CNI_X${i}=1\0`)), Buffer.from('\0{}')]);
    assert.equal(JSON.parse((await answer(many, async () => ({ status: 0 }))).body).code, 6);
  });
});
