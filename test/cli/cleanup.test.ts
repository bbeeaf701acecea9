import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { NetnsLab, isRoot } from '../../src/lab/netns.js';

const cli = (args: string[]) => spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', timeout: 60_000 });

test('petrel cleanup refuses without --yes', () => {
  const r = cli(['cleanup']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /refusing without --yes/);
});

test('petrel cleanup removes Petrel\'s routes in a namespace and leaves other protocols\' routes', { skip: !isRoot() && 'needs root (network namespaces)' }, async () => {
  const lab = new NetnsLab();
  try {
    const ns = lab.addNs('node');
    const peer = lab.addNs('peer');
    lab.veth(ns, 'eth0', peer, 'eth0');
    lab.addr(ns, 'eth0', '192.0.2.11/24');
    lab.ip(ns, 'route', 'add', '198.18.2.0/26', 'via', '192.0.2.12', 'proto', '97');
    lab.ip(ns, 'route', 'add', 'blackhole', '198.18.1.0/26', 'proto', '97');
    lab.ip(ns, 'route', 'add', '198.18.9.0/26', 'via', '192.0.2.13', 'proto', 'bird');
    const r = cli(['cleanup', '--yes', '--netns', ns]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /removed 2 routes/);
    const left = lab.ip(ns, 'route', 'show');
    assert.doesNotMatch(left, /198\.18\.2\.0|198\.18\.1\.0/);
    assert.match(left, /198\.18\.9\.0\/26 via 192\.0\.2\.13 .*proto bird/);
  } finally {
    await lab.destroy();
  }
});
