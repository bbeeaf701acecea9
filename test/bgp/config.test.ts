// The standalone speaker's YAML schema: the example of issue 2 parses to the documented defaults,
// and each kind of mistake is reported with the file, the exact field path and what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_REPORTED_PROBLEMS, parseSpeakerConfig } from '../../src/bgp/config.js';
import { ConfigError } from '../../src/errors.js';

const EXAMPLE = `
asn: 64512                  # local AS, 1..4294967295
routerId: 198.51.100.1
listen: { address: 198.51.100.1, port: 179 }
clusterId: 198.51.100.1
holdTime: 90
peers:
  - address: 198.51.100.2
    asn: 64512
    port: 179
    passive: false
    rrClient: false
    holdTime: 90
    families: [ipv4, ipv6]
    localAddress: 198.51.100.1
  - address: 2001:db8::2
    asn: 65001
originate: [ 203.0.113.0/24, 2001:db8:1::/48 ]
http: { address: 127.0.0.1, port: 9179 }
`;

test('the example configuration of issue 2 parses with its defaults filled in', () => {
  const c = parseSpeakerConfig(EXAMPLE, 'ex.yaml');
  assert.equal(c.asn, 64512);
  assert.equal(c.routerId, '198.51.100.1');
  assert.deepEqual(c.listen, { address: '198.51.100.1', port: 179 });
  assert.equal(c.clusterId, '198.51.100.1');
  assert.deepEqual(c.originate, ['203.0.113.0/24', '2001:db8:1::/48']);
  assert.deepEqual(c.http, { address: '127.0.0.1', port: 9179 });
  assert.equal(c.logLevel, 'info');
  assert.equal(c.peers.length, 2);
  assert.deepEqual(c.peers[1], {
    address: '2001:db8::2', asn: 65001, port: 179, passive: false, rrClient: false, holdTime: 90,
    connectRetryTime: 30, families: ['ipv4', 'ipv6'],
  });
});

test('a minimal file needs only asn and routerId; it never listens and has no status API', () => {
  const c = parseSpeakerConfig('asn: 65000\nrouterId: 192.0.2.1\n');
  assert.equal(c.listen, undefined);
  assert.equal(c.http, undefined);
  assert.deepEqual(c.peers, []);
  assert.equal(c.holdTime, 90);
});

test('graceful restart is off unless configured; a gracefulRestart section turns it on with its defaults', () => {
  assert.deepEqual(parseSpeakerConfig('asn: 65000\nrouterId: 192.0.2.1\n').gracefulRestart, { enabled: false, restartTime: 120, staleTime: 300, restarting: false });
  assert.deepEqual(parseSpeakerConfig('asn: 65000\nrouterId: 192.0.2.1\ngracefulRestart: { restartTime: 30 }\n').gracefulRestart, { enabled: true, restartTime: 30, staleTime: 300, restarting: false });
  assert.deepEqual(parseSpeakerConfig('asn: 65000\nrouterId: 192.0.2.1\ngracefulRestart: { enabled: false, restarting: true, staleTime: 60 }\n').gracefulRestart, { enabled: false, restartTime: 120, staleTime: 60, restarting: true });
});

test('a route-reflector client without clusterId makes the router id the cluster id', () => {
  const c = parseSpeakerConfig('asn: 65000\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.2, asn: 65000, rrClient: true }]\n');
  assert.equal(c.clusterId, '192.0.2.1');
});

test('addresses and prefixes are canonicalised', () => {
  const c = parseSpeakerConfig('asn: 65000\nrouterId: 192.0.2.1\noriginate: [2001:DB8:0001::/48]\npeers: [{ address: "2001:DB8:0::2", asn: 65001 }]\n');
  assert.deepEqual(c.originate, ['2001:db8:1::/48']);
  assert.equal(c.peers[0].address, '2001:db8::2');
});

const BAD: Array<[string, string, string, RegExp]> = [
  ['a missing asn', 'routerId: 192.0.2.1', 'asn', /is required/],
  ['an asn of 0', 'asn: 0\nrouterId: 192.0.2.1', 'asn', /between 1 and 4294967295/],
  ['an asn above 32 bits', 'asn: 4294967296\nrouterId: 192.0.2.1', 'asn', /between 1 and 4294967295/],
  ['an asn given as text', 'asn: "64512x"\nrouterId: 192.0.2.1', 'asn', /must be an integer/],
  ['an IPv6 router id', 'asn: 1\nrouterId: "2001:db8::1"', 'routerId', /dotted-quad/],
  ['a hold time of 2 s', 'asn: 1\nrouterId: 192.0.2.1\nholdTime: 2', 'holdTime', /RFC 4271 §4\.2/],
  ['a bad peer address', 'asn: 1\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.300, asn: 2 }]', 'peers[0].address', /IP address/],
  ['a peer without asn', 'asn: 1\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.3, asn: 2 }, { address: 192.0.2.4 }]', 'peers[1].asn', /is required/],
  ['a misspelt peer field', 'asn: 1\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.3, asn: 1, rrclient: true }]', 'peers[0].rrclient', /unknown field/],
  ['an unknown family', 'asn: 1\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.3, asn: 2, families: [ipv4, l2vpn] }]', 'peers[0].families[1]', /ipv4 or ipv6/],
  ['a duplicate peer', 'asn: 1\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.3, asn: 2 }, { address: 192.0.2.3, asn: 3 }]', 'peers[1].address', /duplicate/],
  ['a prefix with host bits', 'asn: 1\nrouterId: 192.0.2.1\noriginate: [203.0.113.1/24]', 'originate[0]', /host bits/],
  ['a port out of range', 'asn: 1\nrouterId: 192.0.2.1\nlisten: { address: 127.0.0.1, port: 70000 }', 'listen.port', /between 0 and 65535/],
  ['an eBGP route-reflector client', 'asn: 1\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.3, asn: 2, rrClient: true }]', 'peers[0].rrClient', /must be iBGP/],
  ['a localAddress of the other family', 'asn: 1\nrouterId: 192.0.2.1\npeers: [{ address: 192.0.2.3, asn: 2, localAddress: "2001:db8::1" }]', 'peers[0].localAddress', /IPv4/],
  ['a bad log level', 'asn: 1\nrouterId: 192.0.2.1\nlogLevel: loud', 'logLevel', /one of debug/],
  ['a list at the top', '- 1\n- 2', '(top level)', /must be a mapping/],
  ['a restart time beyond 12 bits', 'asn: 1\nrouterId: 192.0.2.1\ngracefulRestart: { restartTime: 4096 }', 'gracefulRestart.restartTime', /between 1 and 4095/],
  ['a misspelt graceful restart field', 'asn: 1\nrouterId: 192.0.2.1\ngracefulRestart: { restarttime: 5 }', 'gracefulRestart.restarttime', /unknown field/],
];
for (const [what, yaml, field, msg] of BAD) {
  test(`${what} is rejected naming the file and the field ${field}`, () => {
    assert.throws(() => parseSpeakerConfig(yaml, 'bad.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.equal(e.field, field);
      assert.match(e.message, msg);
      assert.ok(e.message.startsWith(`bad.yaml: ${field}: `), e.message);
      return true;
    });
  });
}

test('a YAML syntax error names the line', () => {
  assert.throws(() => parseSpeakerConfig('asn: 1\nrouterId: [192.0.2.1\n', 'bad.yaml'), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^bad\.yaml: line \d+, column \d+: YAML syntax error/);
    return true;
  });
});

test('every problem of a file is reported at once, each with its field, the first one as `field`', () => {
  const yaml = [
    'asn: 0',
    'routerId: 192.0.2.1',
    'holdTime: 2',
    'colour: blue',
    'originate: [203.0.113.0/24, 203.0.113.1/24, 203.0.113.0/24]',
    'peers:',
    '  - { address: 192.0.2.3, asn: 70000000000, families: [ipv4, l2vpn] }',
    '  - { address: 192.0.2.4, asn: 2, port: 0 }',
    '  - { address: 192.0.2.5, asn: 2 }',
    'http: { address: localhost }',
  ].join('\n');
  assert.throws(() => parseSpeakerConfig(yaml, 'bad.yaml'), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.problems.map((p) => p.field), [
      'colour', 'asn', 'holdTime', 'http.address', 'originate[1]', 'originate[2]',
      'peers[0].asn', 'peers[0].families[1]', 'peers[1].port',
    ]);
    assert.equal(e.field, 'colour');
    assert.equal(e.message.split('\n').length, 9);
    for (const line of e.message.split('\n')) assert.match(line, /^bad\.yaml: \S+: /);
    return true;
  });
});

test('a password of the wrong type is reported by its type, never by its value', () => {
  for (const [value, kind] of [['["hunter2-secret"]', 'a list'], ['{ key: hunter2-secret }', 'a mapping'], ['31337424242', 'a number'], ['""', 'an empty string']]) {
    const yaml = `asn: 1\nrouterId: 192.0.2.1\npeers:\n  - { address: 192.0.2.3, asn: 2 }\n  - { address: 192.0.2.4, asn: 2, password: ${value} }\n`;
    assert.throws(() => parseSpeakerConfig(yaml, 'bad.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.field, 'peers[1].password');
      assert.ok(e.message.includes(`got ${kind}`), e.message);
      assert.doesNotMatch(e.message, /hunter2|31337424242/);
      return true;
    });
  }
});

test('echoed values and keys are clipped and the number of problems is capped: 10 MB of garbage makes a short error', () => {
  const huge = 'x'.repeat(10 * 1024 * 1024);
  const cases = [
    huge,                                                     // the whole document one scalar
    `asn: 1\nrouterId: ${huge}\n`,                            // one huge value
    `asn: 1\nrouterId: 192.0.2.1\n${huge}: 1\n`,              // one huge key
    `asn: 1\nrouterId: 192.0.2.1\noriginate: [${Array.from({ length: 5_000 }, (_, i) => `bad${i}`).join(', ')}]\n`,
    `asn: 1\nrouterId: 192.0.2.1\npeers: [${Array.from({ length: 2_000 }, () => `{ address: x${huge.slice(0, 1000)} }`).join(', ')}]\n`,
  ];
  for (const yaml of cases) {
    assert.throws(() => parseSpeakerConfig(yaml, 'garbage.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e).slice(0, 200));
      assert.ok(e.message.length < 20 * 400, `error of ${e.message.length} characters`);
      assert.ok(e.problems.length <= MAX_REPORTED_PROBLEMS + 1);
      return true;
    });
  }
  assert.throws(() => parseSpeakerConfig(`asn: 1\nrouterId: ${huge}\n`), /routerId: must be a dotted-quad IPv4 address \(a BGP identifier\), got "x{100}"… \(10485760 characters\)/);
  assert.throws(() => parseSpeakerConfig(`asn: 1\nrouterId: 192.0.2.1\noriginate: [${Array.from({ length: 30 }, (_, i) => `bad${i}`).join(', ')}]\n`), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.problems.length, MAX_REPORTED_PROBLEMS + 1);
    assert.equal(e.problems.at(-1)!.message, 'and 10 more problems');
    return true;
  });
});

test('every YAML syntax error is reported, each naming its line', () => {
  assert.throws(() => parseSpeakerConfig('asn: 1\nrouterId: [192.0.2.1\nholdTime: "3\n', 'bad.yaml'), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.ok(e.problems.length >= 2, e.message);
    for (const p of e.problems) assert.match(p.text, /^bad\.yaml: line \d+, column \d+: YAML syntax error/);
    return true;
  });
});
