/**
 * The online tier on a real engine (issue 17): step-ca 0.19 built from
 * Debian's source package (test/helpers/step-ca.ts), its intermediate signed
 * by `pocketca sign --profile intermediate`, serving TLS on 127.0.0.1 under
 * the pocketca root and issuing leaves through its API with one-time tokens;
 * real nginx from `pocketca proxy nginx --crl-file` admits them, refuses the
 * one revoked at the online tier once its CRL is re-published, and refuses
 * every leaf once pocketca revokes the intermediate. For an RSA root and an
 * EC root. Then the two traps of a name-constrained root. The commands are
 * those of docs-notes/step-ca.md.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createTestCa, openssl } from '../helpers/cli';
import { NGINX, assertReached, assertRefused, runProxy } from '../helpers/proxy-scenarios';
import { curl } from '../helpers/servers';
import { configureStepCa, leafCsr, onlineCrl, stepCaIntermediate, stepCaTools, type IssuedLeaf, type KeyType } from '../helpers/step-ca';

/** `openssl verify` of a leaf against the root, the intermediate untrusted: exit code and output. */
const verify = (rootPem: string, intermediate: string, leaf: string, purpose = 'sslclient') => {
  const r = openssl(['verify', '-CAfile', rootPem, '-untrusted', intermediate, '-purpose', purpose, leaf]);
  return { code: r.code, out: r.stdout + r.stderr };
};

async function stepCaScenario(t: TestContext, keyType: KeyType): Promise<void> {
  const tools = stepCaTools(t);
  if (!tools) return;
  // alice is the root's own client; the proxy's server certificate is the root's too.
  const p = await runProxy(t, NGINX, ['alice'], [], [], keyType === 'ec' ? ['--key-type', 'ec'] : []);
  if (!p) return;
  const { f, upstream } = p;
  const alice = f.clients.alice!;

  // The intermediate: key and CSR by openssl on the online machine, signed by pocketca.
  const online = stepCaIntermediate(f.ca.dir, keyType);
  f.ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'issuing', '--out', online.cert]);
  assert.match(openssl(['x509', '-in', online.cert, '-noout', '-text']).stdout, new RegExp(`Public Key Algorithm: ${keyType === 'rsa' ? 'rsaEncryption' : 'id-ecPublicKey'}[\\s\\S]*CA:TRUE, pathlen:0`));

  // step-ca serves TLS under the pocketca root, its own certificate issued by the intermediate.
  const server = await configureStepCa(tools, online, f.caPem, [{ name: 'devices', template: true }]).start(t, ['ca.home.arpa']);
  const health = server.curl('/health');
  assert.equal(health.code, 0, health.stderr);
  assert.deepEqual(JSON.parse(health.stdout), { status: 'ok' });
  const hello = openssl(['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', 'ca.home.arpa', '-verify_hostname', 'ca.home.arpa', '-CAfile', f.caPem, '-verify_return_error'], { input: '' });
  assert.match(hello.stdout, /Verify return code: 0 \(ok\)/, hello.stdout + hello.stderr);
  assert.match(hello.stdout, /0 s:.*\n\s+i:CN ?= ?Online Issuing CA/, 'step-ca presents a certificate the intermediate issued');

  // Two devices from step-ca's API (a token each from the devices provisioner); openssl verifies root -> intermediate -> leaf.
  const carol = server.issue('devices', leafCsr(online.dir, 'carol', keyType), 'carol');
  const dave = server.issue('devices', leafCsr(online.dir, 'dave', keyType), 'dave');
  for (const leaf of [carol, dave]) {
    const v = verify(f.caPem, online.cert, leaf.cert);
    assert.equal(v.code, 0, v.out);
    const text = openssl(['x509', '-in', leaf.cert, '-noout', '-text']).stdout;
    assert.match(text, /Issuer: CN ?= ?Online Issuing CA/);
    assert.match(text, /Extended Key Usage: *\n\s+TLS Web Client Authentication\n/);
    assert.doesNotMatch(text, /Subject Alternative Name/, 'the device template puts no SAN');
    const [from, to] = ['startdate', 'enddate'].map((d) => Date.parse(openssl(['x509', '-in', leaf.cert, '-noout', `-${d}`]).stdout.split('=')[1]!));
    const days = (to! - from!) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, `the claims in ca.json give 30-day certificates, got ${days} days`);
  }
  // A device renews its certificate with itself (mTLS), before it expires.
  const renewed = server.curl('/1.0/renew', ['-X', 'POST', '--cert', dave.cert, '--key', dave.key, '-w', '\n%{http_code}']);
  assert.match(renewed.stdout, /\n201$/, renewed.stdout + renewed.stderr);
  assert.match(JSON.parse(renewed.stdout.replace(/\n201$/, '')).crt, /^-----BEGIN CERTIFICATE-----/);
  assert.notEqual(openssl(['verify', '-CAfile', f.caPem, carol.cert]).code, 0, 'without the intermediate there is no chain');

  // The intermediate's CRL (openssl ca over step-ca's key) published with the proxy: all three devices pass.
  const crlFile = join(online.dir, 'online.crl.pem');
  const crl = onlineCrl(online);
  crl.crl(crlFile);
  assert.doesNotMatch(p.publish(['--crl-file', crlFile]), /warning/);
  await p.server.reload();
  const asLeaf = (leaf: IssuedLeaf, chain = false) => ['--cacert', f.caPem, '--cert', chain ? leaf.chain : leaf.cert, '--key', leaf.key];
  const seen = assertReached(await curl([...asLeaf(carol), p.url('/carol')]), upstream, '/carol', 'a leaf from step-ca');
  assert.equal(seen.headers['x-ssl-client-s-dn'], 'CN=carol');
  assertReached(await curl([...asLeaf(dave), p.url('/dave')]), upstream, '/dave', 'another leaf from step-ca');
  assertReached(await curl([...asLeaf(dave, true), p.url('/dave-chain')]), upstream, '/dave-chain', 'a leaf from step-ca sending the intermediate too');
  assertReached(await curl(['--cacert', f.caPem, '--cert', alice.cert, '--key', alice.key, p.url('/alice')]), upstream, '/alice', "the root's own client");

  // carol revoked at the online tier: step-ca records it (and then refuses to renew her certificate),
  // the intermediate's CRL lists her, the proxy publishes it again: carol refused, dave still in.
  const revoked = server.revoke('devices', carol.cert);
  assert.deepEqual([revoked.status, revoked.body], [200, { status: 'ok' }]);
  const renew = server.curl('/1.0/renew', ['-X', 'POST', '--cert', carol.cert, '--key', carol.key, '-w', '\n%{http_code}']);
  assert.match(renew.stdout, /\n401$/, 'step-ca refuses to renew a certificate it revoked');
  crl.revoke(carol.cert);
  crl.crl(crlFile);
  const serial = openssl(['x509', '-in', carol.cert, '-noout', '-serial']).stdout.trim().replace(/^serial=/, '');
  assert.match(openssl(['crl', '-in', crlFile, '-noout', '-text']).stdout, new RegExp(`Serial Number: ${serial}`));
  p.publish(['--crl-file', crlFile]);
  await p.server.reload();
  assertRefused(await curl([...asLeaf(carol), p.url('/carol-revoked')]), upstream, '/carol-revoked', 'a leaf revoked at the online tier');
  assertRefused(await curl([...asLeaf(carol, true), p.url('/carol-revoked-chain')]), upstream, '/carol-revoked-chain', 'a leaf revoked at the online tier, with its chain');
  assertReached(await curl([...asLeaf(dave), p.url('/dave-after')]), upstream, '/dave-after', 'dave after carol was revoked');

  // pocketca revokes the intermediate and publishes without its CRL: every leaf of it is refused, with or without the chain.
  f.ca.ok(['revoke', 'issuing', '--reason', 'keyCompromise']);
  p.publish();
  await p.server.reload();
  assertRefused(await curl([...asLeaf(dave), p.url('/dave-intermediate-revoked')]), upstream, '/dave-intermediate-revoked', 'a leaf of a revoked intermediate');
  assertRefused(await curl([...asLeaf(dave, true), p.url('/dave-chain-intermediate-revoked')]), upstream, '/dave-chain-intermediate-revoked', 'a leaf of a revoked intermediate sending the intermediate');
  assertReached(await curl(['--cacert', f.caPem, '--cert', alice.cert, '--key', alice.key, p.url('/alice-after')]), upstream, '/alice-after', "the root's own client after");
  const v = verify(f.caPem, online.cert, dave.cert);
  assert.equal(v.code, 0, 'openssl without CRLs still builds the chain: the refusal is the CRL');
  const withCrl = openssl(['verify', '-crl_check_all', '-CAfile', f.caPem, '-CRLfile', join(f.ca.home, 'crl.pem'), '-CRLfile', crlFile, '-untrusted', online.cert, dave.cert]);
  assert.match(withCrl.stdout + withCrl.stderr, /certificate revoked/);
}

test('step-ca under an RSA root: its intermediate signed by pocketca, TLS under the root, leaves from its API admitted by nginx, a leaf it revoked refused, all refused once pocketca revokes the intermediate', (t) =>
  stepCaScenario(t, 'rsa'));

test('step-ca under an EC root: the same path with P-256 keys', (t) => stepCaScenario(t, 'ec'));

test('step-ca under a name-constrained root: an IP address in dnsNames and the token subject as a DNS SAN are refused by openssl; names inside the tree and the device template pass', async (t) => {
  const tools = stepCaTools(t);
  if (!tools) return;
  const ca = createTestCa(['--key-type', 'ec', '--permit-dns', 'home.arpa']);
  t.after(() => ca.cleanup());
  const rootPem = join(ca.home, 'ca.pem');
  const online = stepCaIntermediate(ca.dir, 'ec');
  ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'issuing', '--out', online.cert]);
  const stepCa = configureStepCa(tools, online, rootPem, [{ name: 'devices', template: true }, { name: 'servers' }]);

  // Trap 1: step-ca puts its dnsNames in its own TLS certificate; the root excludes every IP address.
  const withIp = await stepCa.start(t, ['ca.home.arpa', '127.0.0.1']);
  const refused = withIp.curl('/health');
  assert.equal(refused.code, 60, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /excluded subtree violation/);
  await withIp.stop();
  const server = await stepCa.start(t, ['ca.home.arpa']);
  const health = server.curl('/health');
  assert.equal(health.code, 0, health.stderr);

  // Trap 2: step-ca's default template copies the token's subject into a DNS SAN, outside home.arpa.
  const laptop = leafCsr(online.dir, 'alice-laptop', 'ec');
  const trapped = server.issue('servers', laptop, 'alice-laptop');
  assert.match(openssl(['x509', '-in', trapped.cert, '-noout', '-ext', 'subjectAltName']).stdout, /DNS:alice-laptop\n/);
  const rejected = verify(rootPem, online.cert, trapped.cert);
  assert.notEqual(rejected.code, 0);
  assert.match(rejected.out, /permitted subtree violation/);

  // Fixes: a SAN inside the tree in the token, or the device template (no SAN).
  const inTree = server.issue('servers', laptop, 'alice-laptop', ['alice-laptop.home.arpa']);
  assert.match(openssl(['x509', '-in', inTree.cert, '-noout', '-ext', 'subjectAltName']).stdout, /DNS:alice-laptop\.home\.arpa\n/);
  const inTreeOk = verify(rootPem, online.cert, inTree.cert);
  assert.equal(inTreeOk.code, 0, inTreeOk.out);
  const device = server.issue('devices', laptop, 'alice-laptop');
  assert.equal(openssl(['x509', '-in', device.cert, '-noout', '-ext', 'subjectAltName']).stdout, '');
  const deviceOk = verify(rootPem, online.cert, device.cert);
  assert.equal(deviceOk.code, 0, deviceOk.out);
});
