/**
 * Name constraints (issue 12): the `init --permit-*` flags, the check that
 * issue/sign/renew make, and the extension's DER, read back by openssl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNamesAllowed, constraintsFromFlags, describeConstraints } from '../../src/ca/name-constraints';
import { UsageError } from '../../src/errors';
import { nameConstraintsExtension, parseNameConstraints } from '../../src/formats/name-constraints';
import { openssl } from '../helpers/cli';

const flags = (dns: string[] = [], ip: string[] = [], email: string[] = []) => ({ dns, ip, email });
const sans = (dns: string[] = [], ip: string[] = [], email: string[] = []) => ({ dns, ip, email });

test('constraintsFromFlags: none without flags; a form without trees is excluded (DNS, IP), e-mail is not', () => {
  assert.equal(constraintsFromFlags(flags()), undefined);
  const dnsOnly = constraintsFromFlags(flags(['Home.Arpa']))!;
  assert.deepEqual(dnsOnly.permitted, { dns: ['home.arpa'], email: [], ip: [] });
  assert.deepEqual(dnsOnly.excluded, { dns: [], email: [], ip: ['0.0.0.0/0', '::/0'] });
  const ipOnly = constraintsFromFlags(flags([], ['fd00::/8']))!;
  assert.deepEqual(ipOnly.excluded, { dns: [''], email: [], ip: [] });
  assert.equal(describeConstraints(ipOnly), 'permitted IP:fd00::/8; excluded DNS:(every name)');
});

test('checkNamesAllowed: RFC 5280 subtree matching as OpenSSL and Go do it', () => {
  const c = constraintsFromFlags(flags(['home.arpa'], ['192.168.1.0/24', 'fd00::/8'], ['home.arpa']))!;
  const ok = (s: ReturnType<typeof sans>, cn = 'device') => assert.doesNotThrow(() => checkNamesAllowed(c, s, cn));
  const refused = (s: ReturnType<typeof sans>, what: RegExp, cn = 'device') =>
    assert.throws(() => checkNamesAllowed(c, s, cn), (e: Error) => e instanceof UsageError && what.test(e.message));
  ok(sans(['home.arpa', 'nas.home.arpa', 'A.B.HOME.ARPA', '*.apps.home.arpa']));
  ok(sans([], ['192.168.1.0', '192.168.1.255', 'fd12:3456::1']));
  ok(sans([], [], ['alice@home.arpa', 'Bob@HOME.arpa']));
  refused(sans(['evilhome.arpa']), /^SAN DNS:evilhome\.arpa is outside/);
  refused(sans(['home.arpa.example']), /DNS:home\.arpa\.example/);
  refused(sans(['*.arpa']), /DNS:\*\.arpa/);
  refused(sans([], ['192.168.2.1']), /IP:192\.168\.2\.1/);
  refused(sans([], ['fe80::1']), /IP:fe80::1/);
  refused(sans([], [], ['alice@sub.home.arpa']), /email:alice@sub\.home\.arpa/);
  // A host-name CN is held to the DNS trees when there is no DNS SAN (OpenSSL's rule); any other CN is not a name form.
  refused(sans(), /^CN phone\.example\.com \(a host name to OpenSSL\)/, 'phone.example.com');
  ok(sans(), 'phone.home.arpa');
  ok(sans(), 'alice iphone');
  ok(sans(['nas.home.arpa']), 'other.example.com');
  // Excluded beats permitted.
  const dnsOnly = constraintsFromFlags(flags(['home.arpa']))!;
  assert.throws(() => checkNamesAllowed(dnsOnly, sans(['nas.home.arpa'], ['192.168.1.2']), 'nas'), /SAN IP:192\.168\.1\.2 is outside the CA's name constraints \(permitted: DNS:home\.arpa\)/);
});

test('constraintsFromFlags refuses what it cannot state exactly', () => {
  for (const [f, words] of [
    [flags(['.home.arpa']), /without the leading dot/],
    [flags(['*.home.arpa']), /not a wildcard/],
    [flags(['192.168.1.1']), /is an IP address/],
    [flags([], ['192.168.1.1/24']), /host bits set/],
    [flags([], ['fd00::1/8']), /host bits set/],
    [flags([], ['10.0.0.0']), /not a CIDR network/],
    [flags([], ['::/129']), /not a CIDR network/],
    [flags([], [], ['a@home.arpa']), /give the mail domain/],
  ] as const) {
    assert.throws(() => constraintsFromFlags(f), (e: Error) => e instanceof UsageError && words.test(e.message), String(words));
  }
});

test('nameConstraintsExtension: critical, read back by our parser and by openssl', () => {
  const c = constraintsFromFlags(flags(['home.arpa'], ['10.0.0.0/8'], ['home.arpa']))!;
  const ext = nameConstraintsExtension({ ...c, excluded: { dns: [], email: [], ip: ['172.16.0.0/12', 'fd00::/8'] } });
  assert.equal(ext.critical, true);
  const back = parseNameConstraints(ext.value);
  assert.deepEqual(back.permitted, c.permitted);
  assert.deepEqual(back.excluded.ip, ['172.16.0.0/12', 'fd00::/8']);
  assert.equal(back.other, 0);
  // openssl asn1parse of the NameConstraints value: [0] and [1] subtrees, the IP as address + mask.
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
  try {
    writeFileSync(join(dir, 'nc.der'), ext.value);
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', join(dir, 'nc.der')]).stdout;
    assert.match(parsed, /cont \[ 0 \]/);
    assert.match(parsed, /cont \[ 1 \]/);
    assert.match(parsed, /cont \[ 2 \]\s*\n/); // dNSName (primitive [2])
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
