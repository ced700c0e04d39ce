/**
 * `pocketca proxy nginx` in a real nginx (with njs) on 127.0.0.1, with the
 * scenarios of issue 4, and the inject side in front of an mTLS nginx.
 * Run: npx tsc -p . && node --test dist/test/e2e/proxy-nginx.test.js
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { proxyFixture } from '../helpers/proxy-fixture';
import { NGINX, assertRefused, certificateOnly, expiredCrl, opensslCrlScenario, websocketTokenScenario } from '../helpers/proxy-scenarios';
import { curl, freePort, requireServer, startNginx, startUpstream } from '../helpers/servers';

test('nginx: a certificate of this CA reaches the upstream with its identity; none, foreign, revoked (after publish + reload) are refused', (t) =>
  certificateOnly(t, NGINX));

test('nginx --websocket-token: the cookie lets a certificate-less WebSocket upgrade through, and nothing else', (t) => websocketTokenScenario(t, NGINX));

test('nginx --websocket-token: a device in a CRL made by openssl (300 entries) loses its cookie', (t) => opensslCrlScenario(t, NGINX));

test('nginx: an expired CRL refuses every client, and doctor exits 1 for it', (t) => expiredCrl(t, NGINX));

test('nginx --inject-cert: a plain-HTTP client reaches an mTLS upstream through it; an upstream of another CA is refused', async (t) => {
  const nginx = requireServer(t, 'nginx');
  if (!nginx) return;
  const f = proxyFixture(t, ['printer']);
  const upstream = await startUpstream(t);
  const [mtls, impostor, inject, injectImpostor] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const dirs = { mtls: join(f.ca.dir, 'mtls'), impostor: join(f.ca.dir, 'impostor'), inject: join(f.ca.dir, 'inject'), injectImpostor: join(f.ca.dir, 'inject-impostor') };
  const mtlsServer = (ca: typeof f.ca, cert: string, key: string, port: number, dir: string) =>
    ca.ok(['proxy', 'nginx', '--upstream', `http://127.0.0.1:${upstream.port}`, '--cert', cert, '--key', key, '--listen', `127.0.0.1:${port}`, '--out-dir', dir, '--install-dir', dir]);
  // The service protected by this CA, and an impostor on another CA's certificate that would accept anyone's.
  mtlsServer(f.ca, f.server.cert, f.server.key, mtls, dirs.mtls);
  f.other.ok(['issue', 'impostor', '--profile', 'server', '--dns', 'localhost']);
  mtlsServer(f.other, join(f.other.out, 'impostor.pem'), join(f.other.out, 'impostor.key.pem'), impostor, dirs.impostor);
  const injectTo = (port: number, listen: number, dir: string) =>
    f.ca.ok([
      'proxy', 'nginx', '--inject-cert', f.clients.printer!.cert, '--inject-key', f.clients.printer!.key, '--upstream', `https://127.0.0.1:${port}`,
      '--server-name', 'localhost', '--listen', `127.0.0.1:${listen}`, '--out-dir', dir, '--install-dir', dir,
    ]);
  injectTo(mtls, inject, dirs.inject);
  injectTo(impostor, injectImpostor, dirs.injectImpostor);
  await startNginx(
    t,
    nginx,
    f.ca.dir,
    [join(dirs.mtls, 'nginx-localhost.conf'), join(dirs.impostor, 'nginx-localhost.conf'), join(dirs.inject, 'nginx-inject-localhost.conf'), join(dirs.injectImpostor, 'nginx-inject-localhost.conf')],
    [mtls, impostor, inject, injectImpostor],
  );

  // Plain HTTP in, mutual TLS out: the upstream sees the printer's identity.
  const ok = await curl([`http://127.0.0.1:${inject}/through-inject`]);
  assert.equal(ok.status, 200, `${ok.code} ${ok.stderr} ${ok.body}`);
  const seen = upstream.find('/through-inject');
  assert.ok(seen, 'the upstream never saw the request');
  assert.equal(seen.headers['x-ssl-client-s-dn'], 'CN=printer');
  assert.equal(seen.headers['x-ssl-client-verify'], 'SUCCESS');
  assert.equal(String(seen.headers['x-ssl-client-serial']).toLowerCase(), f.clients.printer!.serial);

  // The same request without the inject proxy is refused by the mTLS server.
  assertRefused(await curl(['--cacert', f.caPem, `https://localhost:${mtls}/direct`]), upstream, '/direct', 'direct, without a certificate');

  // The inject proxy verifies the upstream against this CA's bundle: an impostor gets nothing.
  const refused = await curl([`http://127.0.0.1:${injectImpostor}/to-impostor`]);
  assert.equal(refused.status, 502, `${refused.code} ${refused.body}`);
  assert.equal(upstream.find('/to-impostor'), undefined);
});
