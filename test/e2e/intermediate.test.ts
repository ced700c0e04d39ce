/**
 * An offline root over an online issuing tier (issue 12): pocketca signs the
 * intermediate of an online CA run by a real engine (`openssl ca`, `cfssl
 * serve`), and openssl and Go's crypto/x509 verify the chains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, type TestCa } from '../helpers/cli';
import { goX509 } from '../helpers/go-x509';
import { opensslCa, startCfssl } from '../helpers/online-ca';
import { requireTool } from '../helpers/tools';

const read = (path: string): string => readFileSync(path, 'utf8');

/** `openssl verify -CAfile root -untrusted intermediate leaf`, exit code and output. */
function opensslVerify(ca: TestCa, intermediate: string, leaf: string, extra: string[] = []): { code: number; out: string } {
  const r = openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), '-untrusted', intermediate, ...extra, leaf]);
  return { code: r.code, out: r.stdout + r.stderr };
}

test('sign --profile intermediate: a subordinate CA from an openssl CSR, under a root with pathLen 1', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  assert.match(openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-ext', 'basicConstraints']).stdout, /critical\s+CA:TRUE, pathlen:1/);
  const online = opensslCa(ca.dir);
  const signed = JSON.parse(ca.ok(['sign', online.csr, '--profile', 'intermediate', '--json']).stdout);
  writeFileSync(online.cert, signed.pem);
  assert.equal(signed.profile, 'intermediate');
  assert.equal(signed.subject, 'CN=Online Issuing CA');
  const text = openssl(['x509', '-in', online.cert, '-noout', '-text']).stdout;
  assert.match(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
  assert.match(text, /Subject Key Identifier/);
  assert.match(text, /Authority Key Identifier/);
  assert.doesNotMatch(text, /Extended Key Usage|Alternative Name/);
  // Default 1825 days (5 years), well inside the 10-year root.
  const days = (Date.parse(signed.notAfter) - Date.now()) / 86_400_000;
  assert.ok(days > 1824 && days < 1826, `validity ${days} days`);
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), online.cert]).code, 0);

  // Recorded, listed, shown; the bundle holds the root then the intermediate.
  const listed = JSON.parse(ca.ok(['list', '--json']).stdout);
  assert.deepEqual(listed.map((c: { profile: string }) => c.profile), ['intermediate']);
  assert.equal(JSON.parse(ca.ok(['show', signed.serial, '--json']).stdout).profile, 'intermediate');
  const bundle = read(join(ca.home, 'bundle.pem'));
  assert.equal(bundle, read(join(ca.home, 'ca.pem')) + signed.pem);
  assert.equal(ca.ok(['bundle']).stdout, bundle);
  const bundleCheck = () => (JSON.parse(ca.run(['doctor', '--json']).stdout) as { checks: { name: string; status: string; message: string }[] }).checks.find((c) => c.name === 'bundle')!;
  assert.deepEqual(bundleCheck(), { name: 'bundle', status: 'ok', message: 'holds the CA certificate and 1 valid intermediate' });
  // A bundle without it (say, copied before the intermediate was signed) is named, and `crl` rewrites it.
  writeFileSync(join(ca.home, 'bundle.pem'), read(join(ca.home, 'ca.pem')));
  assert.equal(bundleCheck().status, 'warn');
  assert.match(bundleCheck().message, /lacks the intermediate Online-Issuing-CA/);
  ca.ok(['crl']);
  assert.equal(read(join(ca.home, 'bundle.pem')), bundle);

  // --path-len 1 would let it sign CAs the root's pathLen 1 forbids: refused before any key is unlocked.
  const deeper = ca.run(['sign', online.csr, '--profile', 'intermediate', '--path-len', '1', '--name', 'deeper']);
  assert.equal(deeper.code, 1, deeper.stderr);
  assert.match(deeper.stderr, /error: this root has basicConstraints pathLen 1: an intermediate under it may have --path-len 0 at most/);
  // Never beyond the root.
  const long = ca.run(['sign', online.csr, '--profile', 'intermediate', '--days', '4000', '--name', 'long']);
  assert.equal(long.code, 2);
  assert.match(long.stderr, /would outlive the CA/);
  // A CA certificate names no host.
  const withSan = ca.run(['sign', online.csr, '--profile', 'intermediate', '--dns', 'x.example', '--name', 'san']);
  assert.equal(withSan.code, 2);
  assert.match(withSan.stderr, /carries no subject alternative names/);
  assert.equal(ca.run(['sign', online.csr, '--path-len', '0', '--name', 'pl']).code, 2, '--path-len without --profile intermediate');
  assert.equal(JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length, 1, 'nothing else recorded');
});

test('sign --profile intermediate: a root with pathLen 0 (made before the second release) is refused, saying what to do', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // Re-make the root as the first release did (pathLen 0), with its own key.
  const key = join(ca.dir, 'root.key');
  assert.equal(openssl(['pkey', '-in', join(ca.home, 'ca.key.pem'), '-passin', `file:${ca.passFile}`, '-out', key]).code, 0);
  const r = openssl(['req', '-x509', '-key', key, '-subj', '/CN=pocketca Root CA', '-days', '3650', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', join(ca.home, 'ca.pem')]);
  assert.equal(r.code, 0, r.stderr);
  const online = opensslCa(ca.dir);
  const refused = ca.run(['sign', online.csr, '--profile', 'intermediate']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /error: this root has basicConstraints pathLen 0: it may sign end-entity certificates only, no intermediate CA/);
  assert.match(refused.stderr, /hint: .*make a new root \(`pocketca init --home NEW_HOME`\)/);
  assert.equal(JSON.parse(ca.ok(['list', '--all', '--json']).stdout).length, 0);
});

test('openssl ca and cfssl serve issue leaves with the intermediate; openssl and Go verify root -> intermediate -> leaf', async (t) => {
  if (!requireTool(t, 'cfssl')) return;
  const go = goX509(t);
  if (!go) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const online = opensslCa(ca.dir);
  ca.ok(['sign', online.csr, '--profile', 'intermediate', '--out', online.cert]);
  const rootPem = read(join(ca.home, 'ca.pem'));

  const alice = online.issue('alice', 'client');
  assert.equal(opensslVerify(ca, online.cert, alice.cert, ['-purpose', 'sslclient']).code, 0);
  const goAlice = go.verify({ rootPem, intermediatesPem: read(online.cert), leafPem: read(alice.cert), usage: 'clientAuth' });
  assert.ok(goAlice.verified, goAlice.error);
  // Without the intermediate there is no chain: the leaf is not the root's.
  assert.notEqual(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), alice.cert]).code, 0);
  assert.equal(go.verify({ rootPem, leafPem: read(alice.cert) }).verified, false);
  // The bundle alone (root + intermediate) is what the proxy trusts.
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'bundle.pem'), alice.cert]).code, 0);

  const cfssl = await startCfssl(t, online.dir, online.cert, online.key);
  const csr = join(ca.dir, 'bob.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(ca.dir, 'bob.key'), '-subj', '/CN=bob', '-out', csr]).code, 0);
  const bobPem = await cfssl.sign(read(csr));
  writeFileSync(join(ca.dir, 'bob.pem'), bobPem);
  assert.match(openssl(['x509', '-in', join(ca.dir, 'bob.pem'), '-noout', '-issuer']).stdout, /CN ?= ?Online Issuing CA/);
  assert.equal(opensslVerify(ca, online.cert, join(ca.dir, 'bob.pem'), ['-purpose', 'sslclient']).code, 0);
  const goBob = go.verify({ rootPem, intermediatesPem: read(online.cert), leafPem: bobPem, usage: 'clientAuth' });
  assert.ok(goBob.verified, goBob.error);

  // An intermediate cannot itself sign a CA (pathLen 0): openssl and Go refuse the chain.
  const sub = join(online.dir, 'sub');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${sub}.key`, '-subj', '/CN=Sub CA', '-out', `${sub}.csr`]).code, 0);
  writeFileSync(`${sub}.ext`, 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const subCa = openssl(['x509', '-req', '-in', `${sub}.csr`, '-CA', online.cert, '-CAkey', online.key, '-CAcreateserial', '-days', '30', '-extfile', `${sub}.ext`, '-out', `${sub}.pem`]);
  assert.equal(subCa.code, 0, subCa.stderr);
  const subLeaf = join(online.dir, 'subleaf');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${subLeaf}.key`, '-subj', '/CN=carol', '-out', `${subLeaf}.csr`]).code, 0);
  assert.equal(openssl(['x509', '-req', '-in', `${subLeaf}.csr`, '-CA', `${sub}.pem`, '-CAkey', `${sub}.key`, '-CAcreateserial', '-days', '30', '-out', `${subLeaf}.pem`]).code, 0);
  writeFileSync(`${sub}.chain`, read(online.cert) + read(`${sub}.pem`));
  const deep = opensslVerify(ca, `${sub}.chain`, `${subLeaf}.pem`);
  assert.notEqual(deep.code, 0);
  assert.match(deep.out, /path length constraint exceeded/);
  assert.equal(go.verify({ rootPem, intermediatesPem: read(`${sub}.chain`), leafPem: read(`${subLeaf}.pem`) }).verified, false);
});

test('an intermediate is revoked on the root CRL, leaves the bundle, and is renewed with a new CSR', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const online = opensslCa(ca.dir);
  const first = JSON.parse(ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'issuing', '--json']).stdout);
  writeFileSync(online.cert, first.pem);

  // Renew: the engine makes a new key and CSR; the old intermediate is superseded.
  const csr2 = join(ca.dir, 'issuing2.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(ca.dir, 'issuing2.key'), '-subj', '/CN=Online Issuing CA', '-out', csr2]).code, 0);
  const renewed = JSON.parse(ca.ok(['renew', 'issuing', '--csr', csr2, '--json']).stdout);
  assert.equal(renewed.profile, 'intermediate');
  assert.deepEqual(renewed.replaced.map((r: { serial: string; reason: string }) => [r.serial, r.reason]), [[first.serial, 'superseded']]);
  const second = readFileSync(renewed.files.cert, 'utf8');
  assert.match(openssl(['x509', '-in', renewed.files.cert, '-noout', '-ext', 'basicConstraints']).stdout, /CA:TRUE, pathlen:0/);
  assert.equal(read(join(ca.home, 'bundle.pem')), read(join(ca.home, 'ca.pem')) + second, 'only the valid intermediate is in the bundle');

  ca.ok(['revoke', 'issuing', '--reason', 'cessationOfOperation']);
  assert.equal(read(join(ca.home, 'bundle.pem')), read(join(ca.home, 'ca.pem')));
  const crl = openssl(['crl', '-in', join(ca.home, 'crl.pem'), '-noout', '-text']).stdout;
  assert.match(crl, new RegExp(`Serial Number: 0*${renewed.serial.toUpperCase()}[\\s\\S]*?Cessation Of Operation`));
  // openssl with the root CRL refuses the revoked intermediate.
  writeFileSync(join(ca.dir, 'inter2.pem'), second);
  const checked = openssl(['verify', '-crl_check', '-CAfile', join(ca.home, 'ca.pem'), '-CRLfile', join(ca.home, 'crl.pem'), join(ca.dir, 'inter2.pem')]);
  assert.notEqual(checked.code, 0);
  assert.match(checked.stdout + checked.stderr, /certificate revoked/);
  const log = ca.ok(['log', '--json']).stdout;
  assert.match(log, /"command": ?"sign"[\s\S]*"intermediate"/);
});

test('an EC root (P-384) signs an EC intermediate; its SHA-384 CRL is taken by proxy --crl-file and checked by doctor', (t) => {
  const go = goX509(t);
  if (!go) return;
  const ca = createTestCa(['--key-type', 'ec', '--curve', 'P-384']);
  t.after(() => ca.cleanup());
  const online = opensslCa(ca.dir, 'EC Issuing CA', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'sha384');
  ca.ok(['sign', online.csr, '--profile', 'intermediate', '--out', online.cert]);
  assert.match(openssl(['x509', '-in', online.cert, '-noout', '-text']).stdout, /Signature Algorithm: ecdsa-with-SHA384[\s\S]*CA:TRUE, pathlen:0/);
  const leaf = online.issue('sensor', 'client');
  assert.equal(opensslVerify(ca, online.cert, leaf.cert).code, 0);
  const g = go.verify({ rootPem: read(join(ca.home, 'ca.pem')), intermediatesPem: read(online.cert), leafPem: read(leaf.cert) });
  assert.ok(g.verified, g.error);

  const crl = join(online.dir, 'online.crl.pem');
  online.crl(crl);
  assert.match(openssl(['crl', '-in', crl, '-noout', '-text']).stdout, /ecdsa-with-SHA384/);
  ca.ok(['issue', 'proxy', '--profile', 'server', '--dns', 'localhost']);
  const out = join(ca.dir, 'to-proxy');
  const r = ca.ok(['proxy', 'nginx', '--upstream', 'http://127.0.0.1:8123', '--cert', join(ca.out, 'proxy.pem'), '--key', join(ca.out, 'proxy.key.pem'), '--crl-file', crl, '--out-dir', out]);
  assert.doesNotMatch(r.stderr, /warning/);
  const doctor = JSON.parse(ca.run(['doctor', '--json', '--deployed-crl', join(out, 'crl.pem')]).stdout) as { checks: { name: string; status: string }[] };
  assert.deepEqual(doctor.checks.filter((c) => c.name === 'deployed-crl').map((c) => c.status), ['ok', 'ok']);
  // A CRL of another CA is refused, naming the file.
  const other = opensslCa(join(ca.dir, 'other'), 'Stranger CA');
  writeFileSync(other.cert, openssl(['req', '-x509', '-key', other.key, '-subj', '/CN=Stranger CA', '-days', '30']).stdout);
  const strangerCrl = join(ca.dir, 'stranger.crl.pem');
  other.crl(strangerCrl);
  const refused = ca.run(['proxy', 'nginx', '--upstream', 'http://127.0.0.1:8123', '--cert', join(ca.out, 'proxy.pem'), '--key', join(ca.out, 'proxy.key.pem'), '--crl-file', strangerCrl, '--out-dir', out]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /error: --crl-file .*stranger\.crl\.pem is not signed by a valid intermediate of this CA \(EC-Issuing-CA\)/);
});
