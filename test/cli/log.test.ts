import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('the logger redacts passwords and tokens wherever they sit in a logged object', () => {
  const code = `
    import { makeLogger } from './src/cli/log.ts';
    const log = makeLogger('info');
    log.info({ password: 'hunter2', peer: { address: '192.0.2.1', password: 'hunter3' }, peers: [{ password: 'hunter4' }], token: 'tok-abc', cfg: { auth: { token: 'tok-def' } } }, 'configured');
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', cwd: process.cwd() });
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stderr.trim().split('\n').pop()!);
  assert.equal(line.msg, 'configured');
  for (const secret of ['hunter2', 'hunter3', 'hunter4', 'tok-abc', 'tok-def']) assert.ok(!r.stderr.includes(secret), `${secret} leaked: ${r.stderr}`);
  assert.equal(line.peer.address, '192.0.2.1');
  assert.equal(line.password, '[redacted]');
});
