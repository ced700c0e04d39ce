/**
 * The scenarios that nginx and Apache must both pass with the configs pocketca
 * generates (issue 4, "Done when"), written once and run against each server
 * by test/e2e/proxy-nginx.test.ts and test/e2e/proxy-apache.test.ts.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pocketca } from './cli';
import { as, parseSetCookie, proxyFixture, websocketToken, writeExpiredCrl, type Client, type ProxyFixture } from './proxy-fixture';
import { curl, freePort, requireServer, startApache, startNginx, startUpstream, WEBSOCKET_UPGRADE, type CurlResult, type RunningServer, type Upstream } from './servers';

export interface ProxyServer {
  kind: 'nginx' | 'apache';
  /** Start the server with the generated file(s) included. */
  start(t: TestContext, command: string, dir: string, includes: string[], ports: number[]): Promise<RunningServer>;
  /** The WebSocket token's HMAC key, read back from what `proxy --out-dir` wrote. */
  secretIn(outDir: string, port: number): string;
}

export const NGINX: ProxyServer = {
  kind: 'nginx',
  start: startNginx,
  secretIn: (outDir) => /var SECRET = "([0-9a-f]{64})";/.exec(readFileSync(join(outDir, 'nginx-localhost-websocket-token.js'), 'utf8'))![1]!,
};

export const APACHE: ProxyServer = {
  kind: 'apache',
  start: (t, command, dir, includes, ports) => {
    // Apache's children (nobody here, www-data on Debian) load the Lua file: let them reach it.
    chmodSync(dir, 0o755);
    return startApache(t, command, dir, includes, ports);
  },
  secretIn: (outDir, port) => new RegExp(`Require pocketca_ws_localhost_${port} ([0-9a-f]{64})`).exec(readFileSync(join(outDir, 'apache-localhost.conf'), 'utf8'))![1]!,
};

interface Running {
  f: ProxyFixture;
  upstream: Upstream;
  server: RunningServer;
  port: number;
  outDir: string;
  /** Run `pocketca proxy ... --out-dir` again (after revoke or crl); returns its stderr. */
  publish(): string;
  url(path: string): string;
}

async function runProxy(t: TestContext, s: ProxyServer, clients: string[], extra: string[] = []): Promise<Running | undefined> {
  const command = requireServer(t, s.kind === 'nginx' ? 'nginx' : 'apache2');
  if (!command) return undefined;
  const f = proxyFixture(t, clients);
  const upstream = await startUpstream(t);
  const port = await freePort();
  const outDir = join(f.ca.dir, 'to-proxy');
  const publish = () =>
    f.ca.ok([
      'proxy', s.kind, '--upstream', `http://127.0.0.1:${upstream.port}`, '--cert', f.server.cert, '--key', f.server.key,
      '--listen', `127.0.0.1:${port}`, '--out-dir', outDir, '--install-dir', outDir, ...extra,
    ]).stderr;
  publish();
  const server = await s.start(t, command, f.ca.dir, [join(outDir, `${s.kind}-localhost.conf`)], [port]);
  return { f, upstream, server, port, outDir, publish, url: (path) => `https://localhost:${port}${path}` };
}

/**
 * 2xx and 101 are "let through"; everything else (400, 403, a TLS alert, a
 * closed connection) is refused. After a 101 curl reports exit 52: the
 * upstream closes the upgraded connection without a byte.
 */
const passed = (r: CurlResult): boolean => r.status === 101 || (r.code === 0 && r.status >= 200 && r.status < 300);

export function assertRefused(r: CurlResult, upstream: Upstream, path: string, what: string): void {
  assert.ok(!passed(r), `${what}: expected a refusal, got curl exit ${r.code}, HTTP ${r.status}\n${r.body.slice(0, 300)}`);
  assert.equal(upstream.find(path), undefined, `${what}: the upstream must not see ${path}`);
}

function assertReached(r: CurlResult, upstream: Upstream, path: string, what: string) {
  assert.ok(passed(r), `${what}: expected to pass, got curl exit ${r.code}, HTTP ${r.status}: ${r.stderr}${r.body.slice(0, 300)}`);
  const seen = upstream.find(path);
  assert.ok(seen, `${what}: the upstream never saw ${path}`);
  return seen;
}

export async function certificateOnly(t: TestContext, s: ProxyServer): Promise<void> {
  const p = await runProxy(t, s, ['alice', 'bob']);
  if (!p) return;
  const { f, upstream } = p;

  // A valid certificate reaches the upstream, which sees who it is; the client's own identity headers do not get through.
  const forged = ['-H', 'X-SSL-Client-S-DN: CN=admin', '-H', 'X-SSL-Client-Serial: 01', '-H', 'X-SSL-Client-Verify: SUCCESS', '-H', 'X_SSL_Client_S_DN: CN=admin'];
  const seen = assertReached(await curl([...as(f, f.clients.alice!), ...forged, p.url('/alice')]), upstream, '/alice', 'alice');
  assert.equal(seen.headers['x-ssl-client-s-dn'], 'CN=alice');
  assert.equal(String(seen.headers['x-ssl-client-serial']).toLowerCase(), f.clients.alice!.serial);
  assert.equal(seen.headers['x-ssl-client-verify'], 'SUCCESS');
  assert.equal(seen.headers['x_ssl_client_s_dn'], undefined, 'the underscore spelling of an identity header must not reach the upstream');

  // A WebSocket upgrade with the certificate is passed through.
  const ws = assertReached(await curl([...as(f, f.clients.alice!), ...WEBSOCKET_UPGRADE, p.url('/alice-ws')]), upstream, '/alice-ws', 'alice upgrade');
  assert.equal(ws.upgrade, true);
  assert.equal(ws.headers['x-ssl-client-s-dn'], 'CN=alice');

  assertRefused(await curl([...as(f), p.url('/no-cert')]), upstream, '/no-cert', 'no certificate');
  assertRefused(await curl([...as(f, f.stranger), p.url('/stranger')]), upstream, '/stranger', 'a certificate from another CA');

  // Revoke a working device, publish again, reload: it is refused; the others still work.
  assertReached(await curl([...as(f, f.clients.bob!), p.url('/bob-before')]), upstream, '/bob-before', 'bob before revoke');
  f.ca.ok(['revoke', 'bob']);
  p.publish();
  await p.server.reload();
  assertRefused(await curl([...as(f, f.clients.bob!), p.url('/bob-revoked')]), upstream, '/bob-revoked', 'bob after revoke and reload');
  assertReached(await curl([...as(f, f.clients.alice!), p.url('/alice-after')]), upstream, '/alice-after', 'alice after bob was revoked');
}

export async function expiredCrl(t: TestContext, s: ProxyServer): Promise<void> {
  const p = await runProxy(t, s, ['alice']);
  if (!p) return;
  const { f, upstream } = p;
  assertReached(await curl([...as(f, f.clients.alice!), p.url('/alice-before')]), upstream, '/alice-before', 'alice with a fresh CRL');

  writeExpiredCrl(f.ca);
  assert.match(p.publish(), /warning: the CRL expired/);
  await p.server.reload();
  assertRefused(await curl([...as(f, f.clients.alice!), p.url('/alice-expired-crl')]), upstream, '/alice-expired-crl', 'alice with an expired CRL');

  const doctor = pocketca(['doctor', '--json', '--home', f.ca.home]);
  assert.equal(doctor.code, 1, doctor.stderr);
  const crl = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; daysLeft: number }[] }).checks[0]!;
  assert.equal(crl.name, 'crl');
  assert.equal(crl.status, 'fail');
  assert.ok(crl.daysLeft < 0);
  assert.match(doctor.stderr, /error: 1 check failed: crl/);
}

export async function websocketTokenScenario(t: TestContext, s: ProxyServer): Promise<void> {
  const p = await runProxy(t, s, ['alice', 'bob'], ['--websocket-token']);
  if (!p) return;
  const { f, upstream } = p;
  const { alice, bob } = f.clients as { alice: Client; bob: Client };
  const secret = s.secretIn(p.outDir, p.port);
  const ttl = 12 * 3600;
  const now = () => Math.floor(Date.now() / 1000);
  const upgradeWith = (cookie: string | undefined, path: string, client?: Client) =>
    curl([...as(f, client), ...WEBSOCKET_UPGRADE, ...(cookie ? ['-H', `Cookie: theme=dark; ${cookie}`] : []), '-H', 'X-SSL-Client-Serial: 01', p.url(path)]);

  // A certificate request gets the cookie: HMAC-SHA256 by the secret over the serial and an expiry, HttpOnly, Secure, SameSite=Strict, Path=/.
  const page = await curl([...as(f, alice), p.url('/page')]);
  assertReached(page, upstream, '/page', 'alice with her certificate');
  assert.equal(page.headers['set-cookie']?.length, 1, JSON.stringify(page.headers));
  const cookie = parseSetCookie(page.headers['set-cookie']![0]!);
  assert.equal(cookie.name, '__Host-pocketca_ws');
  assert.equal(cookie.serial, alice.serial);
  assert.ok(Math.abs(cookie.expiry - (now() + ttl)) < 120, `expiry ${cookie.expiry} should be about now + ${ttl}`);
  for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) assert.ok(cookie.attributes.includes(attr), `${attr} in ${cookie.attributes}`);
  const aliceCookie = websocketToken(secret, alice.serial, cookie.expiry);
  assert.equal(`${cookie.name}=${cookie.serial}.${cookie.expiry}.${cookie.mac}`, aliceCookie, 'the MAC must be HMAC-SHA256 of the message with the secret');

  // An upgrade with it and no certificate reaches the upstream, as alice, marked TOKEN (not the forged serial header).
  const ws = assertReached(await upgradeWith(aliceCookie, '/ws-cookie'), upstream, '/ws-cookie', 'upgrade with the cookie');
  assert.equal(ws.upgrade, true);
  assert.equal(String(ws.headers['x-ssl-client-serial']).toLowerCase(), alice.serial);
  assert.equal(ws.headers['x-ssl-client-verify'], 'TOKEN');

  const expiry = now() + ttl;
  const flip = (c: string) => c.slice(0, -1) + (c.endsWith('0') ? '1' : '0');
  assertRefused(await upgradeWith(undefined, '/ws-none'), upstream, '/ws-none', 'upgrade without certificate or cookie');
  assertRefused(await upgradeWith(flip(aliceCookie), '/ws-tampered-mac'), upstream, '/ws-tampered-mac', 'upgrade with a tampered MAC');
  assertRefused(await upgradeWith(websocketToken(secret, bob.serial, cookie.expiry).replace(/\.[0-9a-f]{64}$/, `.${cookie.mac}`), '/ws-swapped'), upstream, '/ws-swapped', "upgrade with bob's serial under alice's MAC");
  assertRefused(await upgradeWith(websocketToken(secret, alice.serial, now() - 60), '/ws-expired'), upstream, '/ws-expired', 'upgrade with an expired cookie');
  assertRefused(await upgradeWith(websocketToken(secret, alice.serial, now() + 30 * 86400), '/ws-too-long'), upstream, '/ws-too-long', 'upgrade with a cookie beyond the lifetime');
  assertRefused(await upgradeWith(websocketToken('0'.repeat(64), alice.serial, expiry), '/ws-other-key'), upstream, '/ws-other-key', 'upgrade with a cookie under another key');
  assertRefused(await curl([...as(f), '-H', `Cookie: ${aliceCookie}`, p.url('/plain-cookie')]), upstream, '/plain-cookie', 'a plain request with the cookie and no certificate');
  assertRefused(await curl([...as(f, f.stranger), ...WEBSOCKET_UPGRADE, '-H', `Cookie: ${aliceCookie}`, p.url('/ws-stranger')]), upstream, '/ws-stranger', 'a foreign certificate, even with a valid cookie');

  // Renewal: a cookie past half its life is replaced on the next certificate request; a fresh one is not.
  const old = await curl([...as(f, alice), '-H', `Cookie: ${websocketToken(secret, alice.serial, now() + Math.floor(ttl * 0.4))}`, p.url('/renew-old')]);
  assertReached(old, upstream, '/renew-old', 'alice with an old cookie');
  assert.equal(old.headers['set-cookie']?.length, 1, 'a cookie past half its life is renewed');
  assert.ok(parseSetCookie(old.headers['set-cookie']![0]!).expiry >= cookie.expiry);
  const fresh = await curl([...as(f, alice), '-H', `Cookie: ${aliceCookie}`, p.url('/renew-fresh')]);
  assertReached(fresh, upstream, '/renew-fresh', 'alice with a fresh cookie');
  assert.equal(fresh.headers['set-cookie'], undefined, 'a fresh cookie is not replaced');
  const otherDevice = await curl([...as(f, bob), '-H', `Cookie: ${aliceCookie}`, p.url('/renew-bob')]);
  assert.equal(parseSetCookie(otherDevice.headers['set-cookie']![0]!).serial, bob.serial, "bob's certificate replaces alice's cookie with his own");

  // Revoking alice and publishing again kills her cookie at the reload, before it expires; bob's still works.
  const bobCookie = websocketToken(secret, bob.serial, now() + ttl - 60);
  f.ca.ok(['revoke', 'alice']);
  p.publish();
  await p.server.reload();
  assertRefused(await upgradeWith(aliceCookie, '/ws-revoked'), upstream, '/ws-revoked', "a revoked device's cookie");
  assertReached(await upgradeWith(bobCookie, '/ws-bob'), upstream, '/ws-bob', "bob's cookie after alice was revoked");

  // --rotate-secret: every earlier cookie stops working.
  f.ca.ok([
    'proxy', s.kind, '--upstream', `http://127.0.0.1:${upstream.port}`, '--cert', f.server.cert, '--key', f.server.key,
    '--listen', `127.0.0.1:${p.port}`, '--out-dir', p.outDir, '--install-dir', p.outDir, '--websocket-token', '--rotate-secret',
  ]);
  assert.notEqual(s.secretIn(p.outDir, p.port), secret);
  await p.server.reload();
  assertRefused(await upgradeWith(bobCookie, '/ws-rotated'), upstream, '/ws-rotated', 'a cookie under the old key');
}
