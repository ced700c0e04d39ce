/**
 * Name-constrained roots (issue 12): `init --permit-*` gives the root a
 * critical nameConstraints extension; pocketca refuses names outside it at
 * issue time, and OpenSSL and Go's crypto/x509 refuse a certificate outside
 * it that someone made with the root key anyway (here: openssl, with the key
 * decrypted into the test's temp dir).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, type TestCa } from '../helpers/cli';
import { goX509, type GoX509 } from '../helpers/go-x509';
import { opensslCa } from '../helpers/online-ca';

const read = (path: string): string => readFileSync(path, 'utf8');

/** A server certificate signed by `issuer` (cert + key files) with openssl, bypassing pocketca's checks. */
function forge(ca: TestCa, name: string, issuerCert: string, issuerKey: string, sans: string): string {
  const base = join(ca.dir, name);
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-subj', `/CN=${name}`, '-out', `${base}.csr`]).code, 0);
  writeFileSync(`${base}.ext`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n${sans ? `subjectAltName=${sans}\n` : ''}`);
  const r = openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', issuerCert, '-CAkey', issuerKey, '-CAcreateserial', '-days', '30', '-extfile', `${base}.ext`, '-out', `${base}.pem`]);
  assert.equal(r.code, 0, r.stderr);
  return `${base}.pem`;
}

function rootKey(ca: TestCa): string {
  const key = join(ca.dir, 'root.key');
  assert.equal(openssl(['pkey', '-in', join(ca.home, 'ca.key.pem'), '-passin', `file:${ca.passFile}`, '-out', key]).code, 0);
  return key;
}

function expectBoth(go: GoX509, ca: TestCa, leaf: string, accepted: boolean, what: string, intermediate?: string): void {
  const args = ['verify', '-CAfile', join(ca.home, 'ca.pem'), ...(intermediate ? ['-untrusted', intermediate] : []), leaf];
  const o = openssl(args);
  const g = go.verify({ rootPem: read(join(ca.home, 'ca.pem')), intermediatesPem: intermediate ? read(intermediate) : undefined, leafPem: read(leaf), usage: 'any' });
  if (accepted) {
    assert.equal(o.code, 0, `openssl should accept ${what}: ${o.stdout}${o.stderr}`);
    assert.ok(g.verified, `Go should accept ${what}: ${g.error}`);
  } else {
    assert.notEqual(o.code, 0, `openssl should refuse ${what}`);
    assert.match(o.stdout + o.stderr, /(permitted|excluded) subtree violation/, what);
    assert.equal(g.verified, false, `Go should refuse ${what}`);
    assert.match(g.error ?? '', /not permitted|excluded|constraint/, `${what}: ${g.error}`);
  }
}

test('init --permit-dns/--permit-ip/--permit-email: inside the trees issued and verified by openssl and Go, outside refused at issue time', (t) => {
  const go = goX509(t);
  if (!go) return;
  const ca = createTestCa(['--permit-dns', 'home.arpa', '--permit-ip', '192.168.1.0/24', '--permit-email', 'home.arpa']);
  t.after(() => ca.cleanup());
  const text = openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-text']).stdout;
  assert.match(text, /Name Constraints: critical\s+Permitted:\s+DNS:home\.arpa\s+email:home\.arpa\s+IP:192\.168\.1\.0\/255\.255\.255\.0/);
  assert.doesNotMatch(text, /Excluded/, 'every form has a tree: nothing excluded');

  const nas = JSON.parse(ca.ok(['issue', 'nas', '--profile', 'server', '--dns', 'nas.home.arpa', '--dns', '*.apps.home.arpa', '--ip', '192.168.1.20', '--json']).stdout);
  expectBoth(go, ca, nas.files.cert, true, 'nas.home.arpa');
  const phone = JSON.parse(ca.ok(['issue', 'alice-phone', '--email', 'alice@home.arpa', '--no-mobileconfig', '--json']).stdout);
  expectBoth(go, ca, phone.files.cert, true, 'a client with CN alice-phone');

  const before = JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length;
  for (const [args, named] of [
    [['issue', 'web', '--profile', 'server', '--dns', 'www.example.com'], 'SAN DNS:www.example.com'],
    [['issue', 'web', '--profile', 'server', '--dns', 'home.arpa.example.com'], 'SAN DNS:home.arpa.example.com'],
    [['issue', 'web', '--profile', 'server', '--dns', 'evilhome.arpa'], 'SAN DNS:evilhome.arpa'],
    [['issue', 'web', '--profile', 'server', '--dns', 'nas.home.arpa', '--ip', '10.0.0.1'], 'SAN IP:10.0.0.1'],
    [['issue', 'bob', '--email', 'bob@example.com'], 'SAN email:bob@example.com'],
    [['issue', 'bob', '--email', 'bob@sub.home.arpa'], 'SAN email:bob@sub.home.arpa'],
    // OpenSSL checks a CN that looks like a host name when there is no DNS SAN.
    [['issue', 'phone.example.com'], 'CN phone.example.com (a host name to OpenSSL)'],
  ] as const) {
    const r = ca.run([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`error: ${named} is outside the CA's name constraints (permitted: DNS:home.arpa, IP:192.168.1.0/24, email:home.arpa)`), r.stderr);
  }
  // sign refuses them too (a server CSR's own SANs).
  const csr = join(ca.dir, 'web.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${csr}.key`, '-subj', '/CN=web', '-addext', 'subjectAltName=DNS:bank.example', '-out', csr]).code, 0);
  const signed = ca.run(['sign', csr, '--profile', 'server']);
  assert.equal(signed.code, 2);
  assert.match(signed.stderr, /SAN DNS:bank\.example is outside/);
  assert.equal(JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length, before, 'nothing recorded');

  // Made with the root key by openssl, outside the trees: openssl and Go refuse it.
  const key = rootKey(ca);
  expectBoth(go, ca, forge(ca, 'bank', join(ca.home, 'ca.pem'), key, 'DNS:bank.example.com'), false, 'DNS:bank.example.com');
  expectBoth(go, ca, forge(ca, 'lan', join(ca.home, 'ca.pem'), key, 'DNS:nas.home.arpa,IP:10.0.0.1'), false, 'IP:10.0.0.1');
  expectBoth(go, ca, forge(ca, 'mail', join(ca.home, 'ca.pem'), key, 'email:eve@example.com'), false, 'email:eve@example.com');
  expectBoth(go, ca, forge(ca, 'inside', join(ca.home, 'ca.pem'), key, 'DNS:cam.home.arpa'), true, 'DNS:cam.home.arpa (the control)');
  // Why issue refuses a host-name CN without DNS SANs: OpenSSL holds such a CN to the DNS trees (Go ignores the CN).
  const hostCn = openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), forge(ca, 'phone.example.com', join(ca.home, 'ca.pem'), key, '')]);
  assert.notEqual(hostCn.code, 0);
  assert.match(hostCn.stdout + hostCn.stderr, /permitted subtree violation/);

  // doctor shows them; show shows an intermediate's copy.
  assert.match(ca.run(['doctor']).stdout, /name constraints: permitted DNS:home\.arpa, IP:192\.168\.1\.0\/24, email:home\.arpa/);
});

test('a root given DNS trees only excludes every IP address; the intermediate carries the constraints and its leaves are held to them', (t) => {
  const go = goX509(t);
  if (!go) return;
  const ca = createTestCa(['--permit-dns', 'home.arpa']);
  t.after(() => ca.cleanup());
  assert.match(openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-ext', 'nameConstraints']).stdout, /Excluded:\s+IP:0\.0\.0\.0\/0\.0\.0\.0\s+IP:0:0:0:0:0:0:0:0\/0:0:0:0:0:0:0:0/);
  const ip = ca.run(['issue', 'nas', '--profile', 'server', '--dns', 'nas.home.arpa', '--ip', '192.168.1.20']);
  assert.equal(ip.code, 2);
  assert.match(ip.stderr, /error: SAN IP:192\.168\.1\.20 is outside the CA's name constraints \(permitted: DNS:home\.arpa\)/);
  const key = rootKey(ca);
  expectBoth(go, ca, forge(ca, 'anyip', join(ca.home, 'ca.pem'), key, 'DNS:nas.home.arpa,IP:203.0.113.7'), false, 'an IP under a DNS-only root');

  const online = opensslCa(ca.dir);
  const inter = JSON.parse(ca.ok(['sign', online.csr, '--profile', 'intermediate', '--json']).stdout);
  writeFileSync(online.cert, inter.pem);
  assert.match(openssl(['x509', '-in', online.cert, '-noout', '-ext', 'nameConstraints']).stdout, /critical\s+Permitted:\s+DNS:home\.arpa/);
  assert.match(ca.ok(['show', inter.serial]).stdout, /names\s+permitted DNS:home\.arpa; excluded IP:0\.0\.0\.0\/0, IP:::\/0/);
  const good = online.issue('cloud.home.arpa', 'server', ['DNS:cloud.home.arpa']);
  expectBoth(go, ca, good.cert, true, 'cloud.home.arpa from the online CA', online.cert);
  const bad = online.issue('bank', 'server', ['DNS:bank.example.com']);
  expectBoth(go, ca, bad.cert, false, 'bank.example.com from the online CA', online.cert);
});

test('init refuses name constraints it cannot state exactly', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  for (const [flag, value, words] of [
    ['--permit-dns', '.home.arpa', /without the leading dot[\s\S]*hint: --permit-dns home\.arpa permits that name and every name under it/],
    ['--permit-dns', '*.home.arpa', /not a wildcard/],
    ['--permit-dns', '10.0.0.1', /is an IP address/],
    ['--permit-ip', '192.168.1.5/24', /has host bits set[\s\S]*--permit-ip 192\.168\.1\.0\/24/],
    ['--permit-ip', '192.168.1.0', /is not a CIDR network/],
    ['--permit-ip', '10.0.0.0/33', /is not a CIDR network/],
    ['--permit-email', 'a@home.arpa', /give the mail domain/],
  ] as const) {
    const home = join(ca.dir, `h-${flag}-${value}`.replace(/[^a-z0-9-]/gi, '_'));
    const r = ca.run(['init', '--key-size', '2048', flag, value, '--home', home]);
    assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, words);
  }
});
