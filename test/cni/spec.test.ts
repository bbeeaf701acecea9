/**
 * The CNI protocol as data (src/cni/spec.ts): requests from environment + stdin, results per
 * cniVersion, error objects. Table-driven, no I/O.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CniError, formatResult, parseCniArgs, parseRequest, versionAtLeast } from '../../src/cni/spec.js';

const conf = (o: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'petrel', type: 'petrel', ...o });
const env = (o: Record<string, string | undefined> = {}) => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', ...o });

function code(f: () => unknown): number {
  try { f(); } catch (e) { assert.ok(e instanceof CniError, String(e)); return e.code; }
  assert.fail('no error');
}

describe('cni/spec: requests', () => {
  it('parses an ADD with Kubernetes arguments', () => {
    const r = parseRequest(env({ CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0' }), conf({ runDir: '/r', stateDir: '/s', mtu: 1400 }));
    assert.equal(r.command, 'ADD');
    assert.deepEqual(r.args, { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0' });
    assert.equal(r.config.runDir, '/r');
    assert.equal(r.config.stateDir, '/s');
    assert.equal(r.config.mtu, 1400);
  });

  it('DEL needs no netns (it may be gone already)', () => {
    assert.equal(parseRequest(env({ CNI_COMMAND: 'DEL', CNI_NETNS: '' }), conf()).netns, '');
  });

  const cases: Array<[string, Record<string, string | undefined>, string, number]> = [
    ['no command', env({ CNI_COMMAND: undefined }), conf(), 4],
    ['unknown command', env({ CNI_COMMAND: 'add' }), conf(), 4],
    ['ADD without container id', env({ CNI_CONTAINERID: '' }), conf(), 4],
    ['container id with a slash', env({ CNI_CONTAINERID: '../etc' }), conf(), 4],
    ['ADD without netns', env({ CNI_NETNS: undefined }), conf(), 4],
    ['relative netns', env({ CNI_NETNS: 'x' }), conf(), 4],
    ['ifname too long', env({ CNI_IFNAME: 'a'.repeat(16) }), conf(), 4],
    ['CNI_ARGS pair without =', env({ CNI_ARGS: 'a=b;c' }), conf(), 4],
    ['stdin not JSON', env(), '{', 6],
    ['stdin a string', env(), '"x"', 6],
    ['no cniVersion', env(), JSON.stringify({ name: 'n', type: 'petrel' }), 7],
    ['unsupported version', env(), conf({ cniVersion: '2.0.0' }), 1],
    ['no name', env(), conf({ name: '' }), 7],
    ['wrong type', env(), conf({ type: 'ptp' }), 7],
    ['mtu not a number', env(), conf({ mtu: '1500' }), 7],
    ['mtu too small', env(), conf({ mtu: 100 }), 7],
    ['CHECK before 0.4.0', env({ CNI_COMMAND: 'CHECK' }), conf({ cniVersion: '0.3.1', prevResult: { ips: [] } }), 1],
    ['CHECK without prevResult', env({ CNI_COMMAND: 'CHECK' }), conf(), 7],
    ['CHECK prevResult.ips not an array', env({ CNI_COMMAND: 'CHECK' }), conf({ prevResult: { ips: 3 } }), 7],
    ['GC before 1.1.0', env({ CNI_COMMAND: 'GC' }), conf(), 1],
    ['GC attachments not an array', env({ CNI_COMMAND: 'GC' }), conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': {} }), 7],
    ['GC attachment without ifname', env({ CNI_COMMAND: 'GC' }), conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'a' }] }), 7],
    ['STATUS before 1.1.0', env({ CNI_COMMAND: 'STATUS' }), conf(), 1],
  ];
  for (const [name, e, stdin, want] of cases) {
    it(`refuses ${name} with code ${want}`, () => assert.equal(code(() => parseRequest(e, stdin)), want));
  }

  it('never echoes more than a short piece of a hostile value', () => {
    try { parseRequest(env({ CNI_COMMAND: 'X'.repeat(100_000) }), conf()); } catch (e) { assert.ok((e as Error).message.length < 200); return; }
    assert.fail('no error');
  });

  it('CNI_ARGS: empty pairs are ignored, values may hold "="', () => {
    assert.deepEqual(parseCniArgs(';a=b=c;;'), { a: 'b=c' });
  });
});

describe('cni/spec: results', () => {
  const r = { cniVersion: '', ips: [{ address: '198.18.0.5/32', gateway: '169.254.1.1', interface: 1 }] };
  it('1.x results carry no ips[].version; 0.3.x/0.4.0 results do', () => {
    assert.equal((formatResult(r, '1.0.0').ips[0] as { version?: string }).version, undefined);
    assert.equal(formatResult(r, '0.4.0').ips[0].version, '4');
    assert.equal(formatResult({ ...r, ips: [{ address: '2001:db8::5/128' }] }, '0.3.1').ips[0].version, '6');
    assert.equal(formatResult(r, '0.3.1').cniVersion, '0.3.1');
  });
  it('compares versions numerically', () => {
    assert.ok(versionAtLeast('1.10.0', '1.2.0'));
    assert.ok(!versionAtLeast('0.3.1', '0.4.0'));
    assert.ok(versionAtLeast('1.1.0', '1.1.0'));
  });
});
