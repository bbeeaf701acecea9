import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { hostVethName, vtepMac } from '../../src/dataplane/names.js';

test('the host-side veth name is the prefix plus the first hex digits of sha1(namespace.name), 15 characters', () => {
  const hex = createHash('sha1').update('default.web-0').digest('hex');
  assert.equal(hostVethName('default', 'web-0'), `pet${hex.slice(0, 12)}`);
  assert.equal(hostVethName('default', 'web-0', 'cali'), `cali${hex.slice(0, 11)}`);
  assert.equal(hostVethName('kube-system', 'a-very-long-pod-name-that-goes-on').length, 15);
  assert.notEqual(hostVethName('a', 'b.c'), hostVethName('a.b', 'c.d'));
});

test('a veth prefix that leaves no room for the hash is refused', () => {
  assert.throws(() => hostVethName('a', 'b', 'averylongprefix'), /veth prefix/);
  assert.throws(() => hostVethName('a', 'b', ''), /veth prefix/);
});

test('the VTEP MAC is stable per node, unicast and locally administered', () => {
  const m = vtepMac('node-a');
  assert.equal(m, vtepMac('node-a'));
  assert.notEqual(m, vtepMac('node-b'));
  assert.match(m, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  const first = parseInt(m.slice(0, 2), 16);
  assert.equal(first & 1, 0, 'unicast');
  assert.equal(first & 2, 2, 'locally administered');
});
