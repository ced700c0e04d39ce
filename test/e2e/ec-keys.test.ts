/**
 * Issue 13, SPEC "Second release -> Key types": EC keys end to end, checked
 * by independent implementations only: openssl (certificates, CRLs, the CA
 * key at rest, PKCS#12, CMS), GnuTLS certtool, NSS pk12util, Java keytool,
 * Go's crypto/x509 (leaves and CRLs), and a real nginx doing mTLS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, tool, type TestCa } from '../helpers/cli';
import { goX509 } from '../helpers/go-x509';
import { mobileconfigP12, withDatabase } from '../helpers/guarantees';
import { curl, freePort, requireServer, startNginx, startUpstream } from '../helpers/servers';
import { requireTool } from '../helpers/tools';

const P12_PASSWORD = 'ec-p12-password';
const P12_ENV = { POCKETCA_P12_PASSWORD: P12_PASSWORD };

function x509Text(path: string): string {
  const r = openssl(['x509', '-in', path, '-noout', '-text']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** The certificate's keyUsage line(s) as openssl prints them. */
const keyUsageOf = (text: string): string => /X509v3 Key Usage: critical\n\s+(.+)\n/.exec(text)?.[1] ?? '(none)';

const certificateCount = (ca: TestCa): number => withDatabase(ca.home, (db) => db.prepare('SELECT count(*) FROM certificates').pluck().get() as number);

const ROOTS = [
  { label: 'an RSA root', init: [] as string[], signature: 'sha256WithRSAEncryption', go: 'SHA256-RSA' },
  { label: 'an EC P-256 root', init: ['--key-type', 'ec'], signature: 'ecdsa-with-SHA256', go: 'ECDSA-SHA256' },
  { label: 'an EC P-384 root', init: ['--key-type', 'ec', '--curve', 'P-384'], signature: 'ecdsa-with-SHA384', go: 'ECDSA-SHA384' },
];

for (const root of ROOTS) {
  test(`EC leaves under ${root.label}: openssl and Go verify them and the CRL that revokes one`, (t) => {
    if (!requireTool(t, 'openssl')) return;
    const go = goX509(t);
    if (!go) return;
    const ca = createTestCa(root.init);
    t.after(() => ca.cleanup());
    const caPem = join(ca.home, 'ca.pem');
    const caText = x509Text(caPem);
    assert.match(caText, new RegExp(`Signature Algorithm: ${root.signature}`));
    assert.equal(keyUsageOf(caText), 'Certificate Sign, CRL Sign');
    if (root.init.length > 0) {
      assert.match(caText, /Public Key Algorithm: id-ecPublicKey/);
      assert.match(caText, new RegExp(`NIST CURVE: ${root.init.includes('P-384') ? 'P-384' : 'P-256'}`));
      // At rest: encrypted PKCS#8 with scrypt, which openssl opens with the passphrase.
      const keyPem = readFileSync(join(ca.home, 'ca.key.pem'), 'latin1');
      assert.match(keyPem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      assert.match(openssl(['asn1parse', '-in', join(ca.home, 'ca.key.pem')]).stdout, /:PBES2\n[\s\S]*:scrypt\n[\s\S]*:aes-256-cbc\n/);
      const key = openssl(['pkey', '-in', join(ca.home, 'ca.key.pem'), '-passin', `file:${ca.passFile}`, '-noout', '-text']);
      assert.equal(key.code, 0, key.stderr);
      assert.match(key.stdout, /NIST CURVE: P-(256|384)/);
      assert.notEqual(openssl(['pkey', '-in', join(ca.home, 'ca.key.pem'), '-passin', 'pass:wrong passphrase', '-noout']).code, 0);
    }

    for (const [name, curve] of [['leaf-256', 'P-256'], ['leaf-384', 'P-384']] as const) {
      const r = ca.run(['issue', name, '--key-type', 'ec', '--curve', curve], { env: P12_ENV });
      assert.equal(r.code, 0, r.stderr);
      const path = join(ca.out, `${name}.pem`);
      const text = x509Text(path);
      assert.match(text, new RegExp(`Signature Algorithm: ${root.signature}`));
      assert.match(text, /Public Key Algorithm: id-ecPublicKey/);
      assert.match(text, new RegExp(`NIST CURVE: ${curve}`));
      assert.equal(keyUsageOf(text), 'Digital Signature', 'an EC leaf has keyUsage digitalSignature only');
      const verified = openssl(['verify', '-CAfile', caPem, '-purpose', 'sslclient', path]);
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(verified.stdout, /: OK$/m);
      const byGo = go.verify({ rootPem: readFileSync(caPem, 'utf8'), leafPem: readFileSync(path, 'utf8'), usage: 'clientAuth' });
      assert.ok(byGo.verified, byGo.error);
      assert.equal(byGo.publicKeyAlgorithm, 'ECDSA');
    }

    // Another CA's root must not verify these leaves: the checkers do check.
    const other = createTestCa(root.init);
    t.after(() => other.cleanup());
    const wrong = go.verify({ rootPem: readFileSync(join(other.home, 'ca.pem'), 'utf8'), leafPem: readFileSync(join(ca.out, 'leaf-256.pem'), 'utf8') });
    assert.ok(wrong.parsed && !wrong.verified, 'Go refuses a leaf under the wrong root');

    const revoked = JSON.parse(ca.ok(['revoke', 'leaf-384', '--json']).stdout) as { serial?: string; revoked?: { serial: string }[] };
    const serial = revoked.serial ?? revoked.revoked?.[0]?.serial;
    assert.ok(serial, 'revoke --json names the serial');
    const crlPath = join(ca.home, 'crl.pem');
    const crl = openssl(['crl', '-in', crlPath, '-CAfile', caPem, '-verify', '-noout', '-text']);
    assert.equal(crl.code, 0, crl.stderr);
    assert.match(crl.stderr + crl.stdout, /verify OK/);
    assert.match(crl.stdout, new RegExp(`Signature Algorithm: ${root.signature}`));
    const wrongRoot = openssl(['crl', '-in', crlPath, '-CAfile', join(other.home, 'ca.pem'), '-verify', '-noout']);
    assert.doesNotMatch(wrongRoot.stderr + wrongRoot.stdout, /verify OK/, 'openssl refuses the CRL with another root');
    const crlPem = readFileSync(crlPath, 'utf8');
    const crlByGo = go.verifyCrl({ issuerPem: readFileSync(caPem, 'utf8'), crlPem });
    assert.ok(crlByGo.verified, crlByGo.error);
    assert.equal(crlByGo.signatureAlgorithm, root.go);
    assert.deepEqual(crlByGo.revokedSerials, [serial.toLowerCase().replace(/^0+/, '')]);
    const byOther = go.verifyCrl({ issuerPem: readFileSync(join(other.home, 'ca.pem'), 'utf8'), crlPem });
    assert.ok(byOther.parsed && !byOther.verified, 'Go refuses the CRL with another root');

    // openssl with the CRL: the revoked leaf fails, the other still verifies.
    const withCrl = (name: string) => openssl(['verify', '-crl_check', '-CAfile', caPem, '-CRLfile', crlPath, join(ca.out, `${name}.pem`)]);
    assert.equal(withCrl('leaf-256').code, 0);
    assert.match(withCrl('leaf-384').stdout + withCrl('leaf-384').stderr, /certificate revoked/);
  });
}

test('EC PKCS#12, legacy and modern, and the profiles: openssl, certtool, pk12util and keytool read them', (t) => {
  if (!requireTool(t, 'openssl') || !requireTool(t, 'certtool') || !requireTool(t, 'pk12util') || !requireTool(t, 'keytool')) return;
  const ca = createTestCa(['--key-type', 'ec']);
  t.after(() => ca.cleanup());
  const passwordFile = secretFile(ca.dir, 'p12-password', P12_PASSWORD);
  const cases = [
    { name: 'ec-legacy', args: ['--key-type', 'ec'], curve: 'P-256', mac: 'MAC: SHA1', schema: 'Schema: PKCS12-3DES-SHA1', java: '256-bit EC (secp256r1) key' },
    { name: 'ec-modern', args: ['--key-type', 'ec', '--curve', 'P-384', '--p12-format', 'modern'], curve: 'P-384', mac: 'MAC: SHA256', schema: 'Schema: PBES2-AES256-CBC', java: '384-bit EC (secp384r1) key' },
  ];
  for (const c of cases) {
    const r = ca.run(['issue', c.name, ...c.args, '--sign-profile'], { env: P12_ENV });
    assert.equal(r.code, 0, r.stderr);
    const p12 = join(ca.out, `${c.name}.p12`);
    const leafPem = readFileSync(join(ca.out, `${c.name}.pem`), 'utf8');

    const info = openssl(['pkcs12', '-in', p12, '-info', '-nokeys', '-passin', `file:${passwordFile}`]);
    assert.equal(info.code, 0, `${c.name}: openssl pkcs12 -info: ${info.stderr}`);
    assert.equal(info.stdout.match(/BEGIN CERTIFICATE/g)?.length, 2, `${c.name}: the leaf and the root`);
    const keyPem = openssl(['pkcs12', '-in', p12, '-nocerts', '-nodes', '-passin', `file:${passwordFile}`]).stdout;
    const key = openssl(['pkey', '-noout', '-text'], { input: keyPem });
    assert.match(key.stdout, new RegExp(`NIST CURVE: ${c.curve}`), `${c.name}: an EC key in the key bag`);
    // The key in the bag is the certificate's.
    const keyPub = openssl(['pkey', '-pubout'], { input: keyPem }).stdout;
    const certPub = openssl(['x509', '-pubkey', '-noout'], { input: leafPem }).stdout;
    assert.equal(keyPub, certPub);
    assert.notEqual(openssl(['pkcs12', '-in', p12, '-info', '-nokeys', '-passin', 'pass:wrong']).code, 0);

    const gnutls = tool('certtool', ['--p12-info', '--inder', '--infile', p12], { input: P12_PASSWORD + '\n' });
    const gnutlsOut = gnutls.stdout + gnutls.stderr;
    assert.equal(gnutls.code, 0, `${c.name}: certtool: ${gnutlsOut}`);
    for (const line of [c.mac, c.schema, 'BEGIN ENCRYPTED PRIVATE KEY']) assert.ok(gnutlsOut.includes(line), `${c.name}: certtool lacks "${line}":\n${gnutlsOut}`);

    const nss = tool('pk12util', ['-l', p12, '-w', passwordFile]);
    const nssOut = nss.stdout + nss.stderr;
    assert.equal(nss.code, 0, `${c.name}: pk12util -l: ${nssOut}`);
    assert.match(nssOut, /Certificate\(has private key\):/);
    assert.match(nssOut, /X9\.62 elliptic curve public key/);
    assert.match(nssOut, new RegExp(`Subject: "CN=${c.name}"`));

    const java = tool('keytool', ['-J-Duser.language=en', '-list', '-v', '-storetype', 'PKCS12', '-keystore', p12, '-storepass:file', passwordFile]);
    const javaOut = java.stdout + java.stderr;
    assert.equal(java.code, 0, `${c.name}: keytool: ${javaOut}`);
    assert.match(javaOut, /Entry type: PrivateKeyEntry/);
    assert.match(javaOut, /Certificate chain length: 2/);
    assert.ok(javaOut.includes(c.java), `${c.name}: keytool lacks "${c.java}":\n${javaOut}`);

    // The signed .mobileconfig verifies under the EC root and carries the same identity.
    const profile = join(ca.out, `${c.name}.mobileconfig`);
    const cms = openssl(['cms', '-verify', '-inform', 'DER', '-in', profile, '-CAfile', join(ca.home, 'ca.pem'), '-out', join(ca.dir, 'profile.xml')]);
    assert.equal(cms.code, 0, `${c.name}: openssl cms -verify: ${cms.stderr}`);
    const inner = join(ca.dir, `${c.name}-inner.p12`);
    writeFileSync(inner, mobileconfigP12(profile));
    const innerLeaf = openssl(['pkcs12', '-in', inner, '-nokeys', '-clcerts', '-passin', `file:${passwordFile}`]);
    assert.equal(innerLeaf.code, 0, innerLeaf.stderr);
    assert.equal(openssl(['x509', '-fingerprint', '-noout'], { input: innerLeaf.stdout }).stdout, openssl(['x509', '-fingerprint', '-noout'], { input: leafPem }).stdout);
  }
});

test('renew keeps an EC device EC on its curve; --key-type and --curve change it', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  assert.equal(ca.run(['issue', 'dev', '--key-type', 'ec', '--curve', 'P-384'], { env: P12_ENV }).code, 0);
  const renewed = ca.run(['renew', 'dev'], { env: P12_ENV });
  assert.equal(renewed.code, 0, renewed.stderr);
  let text = x509Text(join(ca.out, 'dev.pem'));
  assert.match(text, /NIST CURVE: P-384/);
  assert.equal(keyUsageOf(text), 'Digital Signature');

  assert.equal(ca.run(['renew', 'dev', '--curve', 'P-256'], { env: P12_ENV }).code, 0);
  assert.match(x509Text(join(ca.out, 'dev.pem')), /NIST CURVE: P-256/);

  assert.equal(ca.run(['renew', 'dev', '--key-type', 'rsa'], { env: P12_ENV }).code, 0);
  text = x509Text(join(ca.out, 'dev.pem'));
  assert.match(text, /Public-Key: \(2048 bit\)/);
  assert.equal(keyUsageOf(text), 'Digital Signature, Key Encipherment');
  // Now RSA: renew keeps it RSA, and a curve alone makes no sense for it.
  const curveOnRsa = ca.run(['renew', 'dev', '--curve', 'P-256'], { env: P12_ENV });
  assert.equal(curveOnRsa.code, 2, curveOnRsa.stderr);
  assert.match(curveOnRsa.stderr, /^error: --curve applies to EC keys/m);
  assert.equal(ca.run(['renew', 'dev'], { env: P12_ENV }).code, 0);
  assert.match(x509Text(join(ca.out, 'dev.pem')), /rsaEncryption/);
});

test('unsupported key types and curves are exit 2 and change nothing', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const before = certificateCount(ca);
  const refused: [string[], RegExp][] = [
    [['--key-type', 'dsa'], /^error: --key-type must be rsa or ec/m],
    [['--key-type', 'ed25519'], /^error: --key-type must be rsa or ec/m],
    [['--key-type', 'ec', '--curve', 'P-521'], /^error: --curve must be P-256 or P-384[^\n]*\nhint: iOS/m],
    [['--key-type', 'ec', '--curve', 'secp256k1'], /^error: --curve must be P-256 or P-384/m],
    [['--key-type', 'ec', '--curve', 'P-192'], /^error: --curve must be P-256 or P-384/m],
    [['--curve', 'P-384'], /^error: --curve applies to EC keys/m],
    [['--key-type', 'ec', '--key-size', '2048'], /^error: --key-size applies to RSA keys/m],
  ];
  for (const [args, message] of refused) {
    const r = ca.run(['issue', 'x', ...args], { env: P12_ENV });
    assert.equal(r.code, 2, `issue ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.ok(!existsSync(join(ca.out, 'x.pem')), 'no file written');
  }
  assert.equal(certificateCount(ca), before, 'nothing recorded');

  ca.ok(['issue', 'dev', '--key-type', 'ec'], { env: P12_ENV });
  for (const args of [['--key-type', 'dsa'], ['--curve', 'P-521']]) {
    const r = ca.run(['renew', 'dev', ...args], { env: P12_ENV });
    assert.equal(r.code, 2, `renew ${args.join(' ')}: ${r.stderr}`);
  }
  assert.equal(certificateCount(ca), before + 1, 'renew refused before signing');
  // A device that makes its own key (sign, then renew --csr): pocketca's key flags do not apply.
  const csr = join(ca.dir, 'own.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', csr + '.key', '-subj', '/CN=own', '-out', csr]).code, 0);
  ca.ok(['sign', csr, '--name', 'own', '--out', join(ca.out, 'own.pem')]);
  const ownKey = ca.run(['renew', 'own', '--csr', csr, '--key-type', 'ec']);
  assert.equal(ownKey.code, 2, ownKey.stderr);
  assert.match(ownKey.stderr, /this device makes its own/);

  for (const args of [['--key-type', 'dsa'], ['--key-type', 'ec', '--curve', 'P-521'], ['--key-type', 'ec', '--curve', 'secp256k1']]) {
    const home = join(ca.dir, `home-${args.join('')}`);
    const r = ca.run(['init', ...args, '--home', home]);
    assert.equal(r.code, 2, `init ${args.join(' ')}: ${r.stderr}`);
    assert.ok(!existsSync(join(home, 'ca.key.pem')), 'no CA created');
  }
});

test('real nginx accepts an EC client under an EC root, and refuses it once revoked', async (t) => {
  const nginx = requireServer(t, 'nginx');
  if (!nginx) return;
  const ca = createTestCa(['--key-type', 'ec']);
  t.after(() => ca.cleanup());
  const other = createTestCa(['--key-type', 'ec', '--name', 'Some Other CA']);
  t.after(() => other.cleanup());
  ca.ok(['issue', 'proxy', '--profile', 'server', '--key-type', 'ec', '--dns', 'localhost', '--ip', '127.0.0.1']);
  ca.ok(['issue', 'phone', '--key-type', 'ec', '--keep-key', '--no-mobileconfig'], { env: P12_ENV });
  other.ok(['issue', 'stranger', '--key-type', 'ec', '--keep-key', '--no-mobileconfig'], { env: P12_ENV });

  const upstream = await startUpstream(t);
  const port = await freePort();
  const outDir = join(ca.dir, 'to-proxy');
  mkdirSync(outDir);
  const publish = () =>
    ca.ok([
      'proxy', 'nginx', '--upstream', `http://127.0.0.1:${upstream.port}`, '--cert', join(ca.out, 'proxy.pem'), '--key', join(ca.out, 'proxy.key.pem'),
      '--listen', `127.0.0.1:${port}`, '--out-dir', outDir, '--install-dir', outDir,
    ]);
  publish();
  const server = await startNginx(t, nginx, ca.dir, [join(outDir, 'nginx-localhost.conf')], [port]);
  const as = (who: TestCa, name?: string) => [
    '--cacert', join(ca.home, 'ca.pem'),
    ...(name ? ['--cert', join(who.out, `${name}.pem`), '--key', join(who.out, `${name}.key.pem`)] : []),
    `https://localhost:${port}/${name ?? 'nobody'}`,
  ];

  const phone = await curl(as(ca, 'phone'));
  assert.equal(phone.code, 0, phone.stderr);
  assert.equal(phone.status, 200, phone.body);
  assert.equal(upstream.find('/phone')?.headers['x-ssl-client-s-dn'], 'CN=phone');
  for (const refused of [await curl(as(other, 'stranger')), await curl(as(ca))]) {
    assert.ok(refused.code !== 0 || refused.status >= 400, `refused: curl ${refused.code}, HTTP ${refused.status}`);
  }
  assert.equal(upstream.find('/stranger'), undefined);

  ca.ok(['revoke', 'phone']);
  publish();
  await server.reload();
  const revoked = await curl([...as(ca, 'phone').slice(0, -1), `https://localhost:${port}/phone-revoked`]);
  assert.ok(revoked.code !== 0 || revoked.status >= 400, `the revoked EC client is refused with the EC-signed CRL: curl ${revoked.code}, HTTP ${revoked.status}`);
  assert.equal(upstream.find('/phone-revoked'), undefined);
});
