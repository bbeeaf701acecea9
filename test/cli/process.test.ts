// Process-level boundaries of the CLI: guarded() turns a throw or a rejection in a signal, timer or
// event callback into a logged and counted error instead of the end of the process; a SIGHUP reload
// that meets a bug is such a callback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guarded } from '../../src/cli/process.js';
import { reload } from '../../src/cli/speaker.js';
import { parseSpeakerConfig } from '../../src/bgp/config.js';
import type { Logger } from '../../src/model/log.js';
import { tempFile } from './helpers.js';

function recordingLog(): Logger & { lines: Array<[string, Record<string, unknown>, string | undefined]> } {
  const lines: Array<[string, Record<string, unknown>, string | undefined]> = [];
  const at = (level: string) => (o: object, m?: string) => void lines.push([level, o as Record<string, unknown>, m]);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

test('guarded: a synchronous throw is logged with its stack and counted, and does not propagate', () => {
  const log = recordingLog();
  const counted: string[] = [];
  const f = guarded('event_listener', log, (w) => void counted.push(w), (x: number) => {
    if (x > 1) throw new Error('listener bug');
  });
  f(1);
  assert.doesNotThrow(() => f(2));
  assert.deepEqual(counted, ['event_listener']);
  assert.equal(log.lines.length, 1);
  assert.match(String(log.lines[0][1].err), /listener bug[\s\S]*process\.test\.ts/);
});

test('guarded: a rejected promise is logged and counted, never an unhandled rejection', async () => {
  const log = recordingLog();
  const counted: string[] = [];
  let unhandled = 0;
  const onUnhandled = () => void unhandled++;
  process.on('unhandledRejection', onUnhandled);
  try {
    guarded('reload', log, (w) => void counted.push(w), async () => {
      throw new Error('async bug');
    })();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(counted, ['reload']);
    assert.equal(unhandled, 0);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('a reload that meets a bug in the speaker throws to its guard, which logs it; the process goes on', () => {
  const f = tempFile('speaker.yaml', 'asn: 64512\nrouterId: 198.51.100.1\noriginate: [203.0.113.0/24]\n');
  const cfg = parseSpeakerConfig('asn: 64512\nrouterId: 198.51.100.1\n');
  const broken = { setPeers: () => { throw new TypeError('bug in setPeers'); }, setLocalRoutes: () => {} };
  const log = recordingLog();
  assert.throws(() => reload(f, cfg, broken, log), /bug in setPeers/);
  const counted: string[] = [];
  const onHup = guarded('reload', log, (w) => void counted.push(w), () => reload(f, cfg, broken, log));
  assert.doesNotThrow(() => onHup());
  assert.deepEqual(counted, ['reload']);
  assert.match(String(log.lines.at(-1)![1].err), /bug in setPeers/);
});
