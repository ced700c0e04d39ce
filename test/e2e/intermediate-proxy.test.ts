/**
 * `proxy nginx|apache --crl-file` with an online CA under a pocketca
 * intermediate (issue 12), in real nginx and apache2 on 127.0.0.1: a leaf of
 * the intermediate is accepted once the intermediate's CRL is deployed, is
 * refused after the online CA (`openssl ca`) revokes it and the CRLs are
 * re-published, and every leaf of the intermediate is refused once pocketca
 * revokes the intermediate, whichever publish step `revoke` names is taken:
 * crl.pem copied, or the same `proxy ... --crl-file` command run again, which
 * leaves the revoked intermediate's CRL out (issue 16).
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { openssl, pocketca, tempDir } from '../helpers/cli';
import { proxyFixture } from '../helpers/proxy-fixture';
import { opensslCa, type Leaf } from '../helpers/online-ca';
import { APACHE, NGINX, assertReached, assertRefused, runProxy, type ProxyServer } from '../helpers/proxy-scenarios';
import { curl, freePort, requireRootForMosquitto, requireServer, runCommand, startMosquitto, waitFor } from '../helpers/servers';

async function intermediateScenario(t: TestContext, s: ProxyServer): Promise<void> {
  // With the WebSocket token too: `revoke` of an intermediate then names re-running the proxy command with it.
  const p = await runProxy(t, s, ['alice'], ['--websocket-token']);
  if (!p) return;
  const { f, upstream } = p;
  const online = opensslCa(f.ca.dir);
  const inter = JSON.parse(f.ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'issuing', '--json']).stdout);
  writeFileSync(online.cert, inter.pem);
  const carol = online.issue('carol', 'client');
  const dave = online.issue('dave', 'client');
  const crl = join(online.dir, 'online.crl.pem');
  online.crl(crl);
  const asLeaf = (leaf: Leaf) => ['--cacert', f.caPem, '--cert', leaf.cert, '--key', leaf.key];
  const conf = join(p.outDir, `${s.kind}-localhost.conf`);

  // Without the intermediate's CRL the proxy, checking CRLs for the whole chain, refuses its leaves; pocketca says so.
  assert.match(p.publish(), /warning: no --crl-file for the intermediate issuing .*refuse every certificate it issued/);
  await p.server.reload();
  assertRefused(await curl([...asLeaf(carol), p.url('/carol-no-crl')]), upstream, '/carol-no-crl', 'a leaf of the intermediate without its CRL');

  // With it (DER works too), depth 2: the leaf of the intermediate and the root's own client both pass.
  const der = join(online.dir, 'online.crl.der');
  assert.equal(openssl(['crl', '-in', crl, '-outform', 'DER', '-out', der]).code, 0);
  assert.doesNotMatch(p.publish(['--crl-file', der]), /warning/);
  assert.match(readFileSync(conf, 'utf8'), s.kind === 'nginx' ? /ssl_verify_depth\s+2;/ : /SSLVerifyDepth\s+2/);
  assert.equal((readFileSync(join(p.outDir, 'crl.pem'), 'utf8').match(/BEGIN X509 CRL/g) ?? []).length, 2);
  assert.equal((readFileSync(join(p.outDir, 'bundle.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
  await p.server.reload();
  const seen = assertReached(await curl([...asLeaf(carol), p.url('/carol')]), upstream, '/carol', 'a leaf of the intermediate');
  assert.equal(seen.headers['x-ssl-client-s-dn'], 'CN=carol');
  assertReached(await curl([...asLeaf(dave), p.url('/dave')]), upstream, '/dave', 'another leaf of the intermediate');
  assertReached(await curl(['--cacert', f.caPem, '--cert', f.clients.alice!.cert, '--key', f.clients.alice!.key, p.url('/alice')]), upstream, '/alice', "the root's own client");
  const doctor = pocketca(['doctor', '--json', '--home', f.ca.home, '--deployed-crl', join(p.outDir, 'crl.pem')]);
  const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; message: string }[] }).checks.filter((c) => c.name === 'deployed-crl');
  assert.deepEqual(checks.map((c) => c.status), ['ok', 'ok'], JSON.stringify(checks));
  assert.match(checks[1]!.message, /the CRL of intermediate issuing in .* expires/);

  // The online CA revokes carol and re-publishes its CRL; pocketca publishes again: carol refused, dave still in.
  online.revoke(carol.cert);
  online.crl(crl);
  p.publish(['--crl-file', crl]);
  await p.server.reload();
  assertRefused(await curl([...asLeaf(carol), p.url('/carol-revoked')]), upstream, '/carol-revoked', 'a leaf the online CA revoked');
  assertReached(await curl([...asLeaf(dave), p.url('/dave-after')]), upstream, '/dave-after', 'dave after carol was revoked');

  // pocketca revokes the intermediate (issue 16): each publish step `revoke` names is a command that works.
  const revoked = f.ca.ok(['revoke', 'issuing', '--reason', 'cACompromise']);
  assert.match(revoked.stderr, /copy \S+crl\.pem to the proxy and reload it \(nginx -s reload \/ apachectl restart\), or re-run the `pocketca proxy \.\.\. --out-dir DIR` command that wrote the proxy's files/);
  assert.match(revoked.stderr, /re-run `pocketca proxy \.\.\. --websocket-token --out-dir DIR`/);
  // The first: copy crl.pem (the root's CRL, now listing the intermediate) and reload.
  p.copyCrl();
  await p.server.reload();
  assertRefused(await curl([...asLeaf(dave), p.url('/dave-crl-copied')]), upstream, '/dave-crl-copied', 'a leaf of a revoked intermediate, crl.pem copied');
  assertReached(await curl(['--cacert', f.caPem, '--cert', f.clients.alice!.cert, '--key', f.clients.alice!.key, p.url('/alice-crl-copied')]), upstream, '/alice-crl-copied', "the root's own client, crl.pem copied");
  // The second: the same command as before, --crl-file and --websocket-token included; the intermediate's CRL is left out with a note.
  const again = p.publish(['--crl-file', crl]);
  assert.match(again, /note: --crl-file \S+online\.crl\.pem is the CRL of intermediate issuing \([0-9a-f]+\), revoked \d{4}-\S+: left out of crl\.pem; the root's CRL lists the intermediate/);
  const deployed = readFileSync(join(p.outDir, 'crl.pem'), 'utf8');
  assert.equal((deployed.match(/BEGIN X509 CRL/g) ?? []).length, 1, 'only the root\'s CRL');
  const rootCrl = openssl(['crl', '-in', join(p.outDir, 'crl.pem'), '-CAfile', f.caPem, '-noout', '-text']);
  assert.match(rootCrl.stderr + rootCrl.stdout, /verify OK/);
  assert.match(rootCrl.stdout, new RegExp(`Serial Number: ${inter.serial.toUpperCase()}\\s+Revocation Date: .*\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+CA Compromise`));
  assert.match(readFileSync(conf, 'utf8'), s.kind === 'nginx' ? /ssl_verify_depth\s+1;/ : /SSLVerifyDepth\s+1/);
  assert.equal((readFileSync(join(p.outDir, 'bundle.pem'), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length, 1, 'the revoked intermediate left the bundle');
  await p.server.reload();
  assertRefused(await curl([...asLeaf(dave), p.url('/dave-intermediate-revoked')]), upstream, '/dave-intermediate-revoked', 'a leaf of a revoked intermediate');
  assertRefused(await curl([...asLeaf(carol), p.url('/carol-intermediate-revoked')]), upstream, '/carol-intermediate-revoked', 'a revoked leaf of a revoked intermediate');
  assertReached(await curl(['--cacert', f.caPem, '--cert', f.clients.alice!.cert, '--key', f.clients.alice!.key, p.url('/alice-after')]), upstream, '/alice-after', "the root's own client after");
  const afterRevoke = pocketca(['doctor', '--json', '--home', f.ca.home, '--deployed-crl', join(p.outDir, 'crl.pem')]);
  const deployedChecks = (JSON.parse(afterRevoke.stdout) as { checks: { name: string; status: string; message: string }[] }).checks.filter((c) => c.name === 'deployed-crl');
  assert.deepEqual(deployedChecks.map((c) => c.status), ['ok'], JSON.stringify(deployedChecks));
}

test('nginx --crl-file: leaves of an intermediate pass, one the online CA revoked is refused, all are refused once pocketca revokes the intermediate', (t) =>
  intermediateScenario(t, NGINX));

test('apache --crl-file: leaves of an intermediate pass, one the online CA revoked is refused, all are refused once pocketca revokes the intermediate', (t) =>
  intermediateScenario(t, APACHE));

test('mosquitto --crl-file (as Debian runs it): a leaf of the intermediate connects, is refused after the online CA revokes it, and all are once pocketca revokes the intermediate', async (t) => {
  const mosquitto = requireServer(t, 'mosquitto');
  if (!mosquitto || !requireRootForMosquitto(t)) return;
  const f = proxyFixture(t, []);
  const online = opensslCa(f.ca.dir);
  writeFileSync(online.cert, f.ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'issuing']).stdout);
  const carol = online.issue('carol', 'client');
  const dave = online.issue('dave', 'client');
  const crl = join(online.dir, 'online.crl.pem');
  online.crl(crl);
  // The broker's side, reachable by user mosquitto; --out-dir in place there.
  const broker = tempDir('pocketca-broker-');
  t.after(() => rmSync(broker, { recursive: true, force: true }));
  chmodSync(broker, 0o755);
  const installDir = join(broker, 'etc-pocketca');
  const port = await freePort();
  const publish = (more: string[] = []) =>
    f.ca.ok(['proxy', 'mosquitto', '--cert', f.server.cert, '--key', f.server.key, '--listen', `127.0.0.1:${port}`, '--out-dir', installDir, '--install-dir', installDir, ...more]);
  publish(['--crl-file', crl]);
  const server = await startMosquitto(t, mosquitto, broker, installDir, port);
  const log = () => readFileSync(server.log, 'utf8');
  const reloads = () => (log().match(/Reloading config/g) ?? []).length;
  const reload = async () => {
    const before = reloads();
    await server.reload();
    await waitFor(async () => reloads() > before, 'mosquitto to reload', log);
  };
  const pub = (leaf: Leaf, topic: string) => runCommand('mosquitto_pub', ['-h', 'localhost', '-p', String(port), '--cafile', f.caPem, '--cert', leaf.cert, '--key', leaf.key, '-t', topic, '-m', 'hi']);

  const first = await pub(carol, 'home/carol');
  assert.equal(first.code, 0, `${first.stderr}\n${log()}`);
  assert.match(log(), /u'carol'/);

  online.revoke(carol.cert);
  online.crl(crl);
  publish(['--crl-file', crl]);
  await reload();
  assert.notEqual((await pub(carol, 'home/carol-revoked')).code, 0, 'carol after the online CA revoked her');
  const daveOk = await pub(dave, 'home/dave');
  assert.equal(daveOk.code, 0, `${daveOk.stderr}\n${log()}`);

  f.ca.ok(['revoke', 'issuing']);
  // The same command as before (issue 16): the revoked intermediate's CRL is left out.
  assert.match(publish(['--crl-file', crl]).stderr, /note: --crl-file \S+ is the CRL of intermediate issuing .*: left out of crl\.pem/);
  assert.equal((readFileSync(join(installDir, 'crl.pem'), 'utf8').match(/BEGIN X509 CRL/g) ?? []).length, 1);
  await reload();
  assert.notEqual((await pub(dave, 'home/dave-after')).code, 0, 'dave after pocketca revoked the intermediate');
  assert.doesNotMatch(log(), /Unable to load|Permission denied/);
});
