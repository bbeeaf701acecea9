/**
 * `petrel lab` as a user runs it: refuses without root; `up --keep` leaves a converged lab that
 * `status` reports and `down` removes completely. Uses the default prefix's code path with its own
 * prefix so it never touches a demo someone keeps running.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defaultCli, recordedLabs, downFromState } from '../../src/lab/lab.js';
import { hasCommand } from '../../src/lab/netns.js';
import { alive, namespacesWith, skipReason } from './helpers.js';

const PREFIX = 'ptlc';
const cli = (args: string[], timeout = 150_000) => spawnSync(process.execPath, [defaultCli(), 'lab', ...args], { encoding: 'utf8', timeout });

describe('petrel lab', { skip: skipReason }, () => {
  after(async () => {
    for (const st of recordedLabs().filter((l) => l.prefix === PREFIX)) await downFromState(st);
  });

  it('refuses clearly without root', { skip: !hasCommand('setpriv') && 'setpriv is not installed' }, () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, defaultCli(), 'lab', 'up'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /need root/);
  });

  it('answers an unknown lab command with exit status 2, pointing at its usage', () => {
    const r = cli(['sideways']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown lab command 'sideways'/);
    assert.match(r.stderr, /`petrel lab --help` shows the usage/);
  });

  it('keeps a converged lab with up --keep, reports it with status, and removes everything with down', () => {
    const up = cli(['up', '--keep', '--prefix', PREFIX]);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    assert.match(up.stdout, /converged .* s after start/);
    assert.match(up.stdout, /pod-to-pod ping matrix \(30\/30 answered\)/);
    assert.match(up.stdout, /=== n3 \(agent, 198\.51\.100\.13, pods 198\.18\.0\.128\/26\) — petrel status[\s\S]*192\.0\.2\.21 +\| route reflector \| up/);
    const st = recordedLabs().find((l) => l.prefix === PREFIX);
    assert.ok(st, 'state recorded');
    assert.equal(st.processes.length, 6);
    assert.ok(st.processes.every((p) => alive(p.pid)), 'processes outlive `lab up --keep`');

    const status = cli(['status', '--prefix', PREFIX], 60_000);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /=== rr2[\s\S]*route reflector \(cluster id 198\.51\.100\.250\)/);

    const down = cli(['down', '--prefix', PREFIX], 60_000);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /stopped 6 processes/);
    assert.deepEqual(namespacesWith(PREFIX), []);
    assert.deepEqual(st.processes.filter((p) => alive(p.pid)), []);
    assert.ok(!existsSync(st.runtimeDir));
  });
});
