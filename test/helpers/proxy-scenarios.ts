/**
 * The scenarios that nginx and Apache must both pass with the configs pocketca
 * generates (issue 4, "Done when"), written once and run against each server
 * by test/e2e/proxy-nginx.test.ts and test/e2e/proxy-apache.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pocketca } from './cli';
import { as, parseSetCookie, proxyFixture, websocketToken, writeExpiredCrl, writeOpensslCrl, type Client, type ProxyFixture } from './proxy-fixture';
import { curl, freePort, openWebSocket, requireServer, startApache, startNginx, startUpstream, WEBSOCKET_UPGRADE, type CurlResult, type RunningServer, type Upstream } from './servers';

export interface ProxyServer {
  kind: 'nginx' | 'apache';
  /** Start the server with the generated file(s) included. */
  start(t: TestContext, command: string, dir: string, includes: string[], ports: number[]): Promise<RunningServer>;
  /** The WebSocket token's HMAC key, read back from what `proxy --out-dir` wrote. */
  secretIn(outDir: string, port: number, serverName?: string): string;
}

/** The WebSocket token's key for a config, read back from what `proxy --out-dir` wrote (njs module, or the Apache Require line). */
const tokenKeyIn = (kind: 'nginx' | 'apache', outDir: string, serverName: string, port: number): string =>
  kind === 'nginx'
    ? /var SECRET = "([0-9a-f]{64})";/.exec(readFileSync(join(outDir, `nginx-${serverName}-websocket-token.js`), 'utf8'))![1]!
    : new RegExp(`Require pocketca_ws_${serverName.replace(/\W/g, '_')}_${port} ([0-9a-f]{64})`).exec(readFileSync(join(outDir, `apache-${serverName}.conf`), 'utf8'))![1]!;

// Both servers' workers (nobody here, www-data on Debian) read files under the test directory at
// request time (the Lua file, the deployed crl.pem for the token check): let them reach it.
const startReadable = (start: typeof startNginx): ProxyServer['start'] => (t, command, dir, includes, ports) => {
  chmodSync(dir, 0o755);
  return start(t, command, dir, includes, ports);
};

export const NGINX: ProxyServer = {
  kind: 'nginx',
  start: startReadable(startNginx),
  secretIn: (outDir, port, serverName = 'localhost') => tokenKeyIn('nginx', outDir, serverName, port),
};

export const APACHE: ProxyServer = {
  kind: 'apache',
  start: startReadable(startApache),
  secretIn: (outDir, port, serverName = 'localhost') => tokenKeyIn('apache', outDir, serverName, port),
};

/** One generated config served by the running server. */
interface Site {
  serverName: string;
  port: number;
  outDir: string;
  /** Run `pocketca proxy ... --out-dir` again (after revoke or crl); returns its stderr. */
  publish(more?: string[]): string;
  /** Copy the home's crl.pem to the proxy, the publish step `revoke` prints. */
  copyCrl(): void;
  url(path: string): string;
}

export interface Running extends Site {
  f: ProxyFixture;
  upstream: Upstream;
  server: RunningServer;
  /** The other configs (--server-name and more flags each), in the same server. */
  others: Site[];
}

/** `initArgs` go to the CA's `init` (proxyFixture). */
export async function runProxy(
  t: TestContext,
  s: ProxyServer,
  clients: string[],
  extra: string[] = [],
  others: { serverName: string; args: string[] }[] = [],
  initArgs: string[] = [],
): Promise<Running | undefined> {
  const command = requireServer(t, s.kind === 'nginx' ? 'nginx' : 'apache2');
  if (!command) return undefined;
  const f = proxyFixture(t, clients, initArgs);
  const upstream = await startUpstream(t);
  const site = async (serverName: string, args: string[], dirName: string): Promise<Site> => {
    const port = await freePort();
    const outDir = join(f.ca.dir, dirName);
    const publish = (more: string[] = []) =>
      f.ca.ok([
        'proxy', s.kind, '--upstream', `http://127.0.0.1:${upstream.port}`, '--cert', f.server.cert, '--key', f.server.key,
        '--listen', `127.0.0.1:${port}`, '--out-dir', outDir, '--install-dir', outDir, '--passphrase-file', f.ca.passFile,
        ...(serverName === 'localhost' ? [] : ['--server-name', serverName]), ...args, ...more,
      ]).stderr;
    publish();
    return { serverName, port, outDir, publish, copyCrl: () => copyFileSync(join(f.ca.home, 'crl.pem'), join(outDir, 'crl.pem')), url: (path) => `https://localhost:${port}${path}` };
  };
  const main = await site('localhost', extra, 'to-proxy');
  const rest = await Promise.all(others.map((o, i) => site(o.serverName, o.args, `to-proxy-${i}`)));
  const sites = [main, ...rest];
  const server = await s.start(t, command, f.ca.dir, sites.map((x) => join(x.outDir, `${s.kind}-${x.serverName}.conf`)), sites.map((x) => x.port));
  return { ...main, f, upstream, server, others: rest };
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

export function assertReached(r: CurlResult, upstream: Upstream, path: string, what: string) {
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
  const p = await runProxy(t, s, ['alice'], ['--websocket-token']);
  if (!p) return;
  const { f, upstream } = p;
  const cookie = websocketToken(s.secretIn(p.outDir, p.port), 'localhost', f.clients.alice!.serial, Math.floor(Date.now() / 1000) + 3600);
  const upgrade = (path: string) => curl([...as(f), ...WEBSOCKET_UPGRADE, '-H', `Cookie: ${cookie}`, p.url(path)]);
  assertReached(await curl([...as(f, f.clients.alice!), p.url('/alice-before')]), upstream, '/alice-before', 'alice with a fresh CRL');
  assertReached(await upgrade('/alice-token-before'), upstream, '/alice-token-before', "alice's cookie with a fresh CRL");

  writeExpiredCrl(f.ca);
  assert.match(p.publish(), /warning: the CRL expired/);
  await p.server.reload();
  assertRefused(await curl([...as(f, f.clients.alice!), p.url('/alice-expired-crl')]), upstream, '/alice-expired-crl', 'alice with an expired CRL');
  // The token checkers read the same CRL: past its nextUpdate it refuses cookies too, as the server refuses certificates.
  assertRefused(await upgrade('/alice-token-expired-crl'), upstream, '/alice-token-expired-crl', "alice's cookie with an expired CRL");

  const doctor = pocketca(['doctor', '--json', '--home', f.ca.home]);
  assert.equal(doctor.code, 1, doctor.stderr);
  const crl = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string; daysLeft: number }[] }).checks[0]!;
  assert.equal(crl.name, 'crl');
  assert.equal(crl.status, 'fail');
  assert.ok(crl.daysLeft < 0);
  assert.match(doctor.stderr, /error: 1 check failed: crl/);
}

/** WEBSOCKET_UPGRADE without the header that starts with `name`, or with it replaced by `line`. */
const handshakeWith = (name: string, line?: string): string[] => {
  const pairs = WEBSOCKET_UPGRADE.filter((_, i) => i % 2 === 1).filter((h) => !h.toLowerCase().startsWith(name.toLowerCase()));
  return [...pairs, ...(line ? [line] : [])].flatMap((h) => ['-H', h]);
};

export async function websocketTokenScenario(t: TestContext, s: ProxyServer): Promise<void> {
  const paths = ['--websocket-path', '/api/websocket', '--websocket-path', '/ws/'];
  const p = await runProxy(t, s, ['alice', 'bob'], ['--websocket-token'], [{ serverName: 'other.test', args: ['--websocket-token', ...paths] }]);
  if (!p) return;
  const { f, upstream } = p;
  const other = p.others[0]!;
  const { alice, bob } = f.clients as { alice: Client; bob: Client };
  const secret = s.secretIn(p.outDir, p.port);
  assert.notEqual(s.secretIn(other.outDir, other.port, 'other.test'), secret, 'one key per server name');
  const ttl = 12 * 3600;
  const now = () => Math.floor(Date.now() / 1000);
  const token = (serial: string, expiry: number, key = secret, name = 'localhost') => websocketToken(key, name, serial, expiry);
  const upgradeWith = (cookie: string | undefined, path: string, opts: { client?: Client; site?: { url(path: string): string }; handshake?: string[]; more?: string[] } = {}) =>
    curl([
      ...as(f, opts.client), ...(opts.handshake ?? WEBSOCKET_UPGRADE), ...(cookie ? ['-H', `Cookie: theme=dark; ${cookie}; lang=en`] : []),
      '-H', 'X-SSL-Client-Serial: 01', ...(opts.more ?? []), (opts.site ?? p).url(path),
    ]);

  // A certificate request gets the cookie: HMAC-SHA256 by the key over the server name, the serial and an expiry, HttpOnly, Secure, SameSite=Strict, Path=/.
  const page = await curl([...as(f, alice), p.url('/page')]);
  assertReached(page, upstream, '/page', 'alice with her certificate');
  assert.equal(page.headers['set-cookie']?.length, 1, JSON.stringify(page.headers));
  const cookie = parseSetCookie(page.headers['set-cookie']![0]!);
  assert.equal(cookie.name, '__Host-pocketca_ws');
  assert.equal(cookie.serial, alice.serial);
  assert.ok(Math.abs(cookie.expiry - (now() + ttl)) < 120, `expiry ${cookie.expiry} should be about now + ${ttl}`);
  for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) assert.ok(cookie.attributes.includes(attr), `${attr} in ${cookie.attributes}`);
  const aliceCookie = token(alice.serial, cookie.expiry);
  assert.equal(`${cookie.name}=${cookie.serial}.${cookie.expiry}.${cookie.mac}`, aliceCookie, 'the MAC must be HMAC-SHA256 of the message with the key');

  // A handshake with it and no certificate reaches the upstream, as alice, marked TOKEN (not the forged serial header);
  // the upstream gets the other cookies but not the token, and Host with its port.
  const ws = assertReached(await upgradeWith(aliceCookie, '/ws-cookie'), upstream, '/ws-cookie', 'upgrade with the cookie');
  assert.equal(ws.upgrade, true);
  assert.equal(String(ws.headers['x-ssl-client-serial']).toLowerCase(), alice.serial);
  assert.equal(ws.headers['x-ssl-client-verify'], 'TOKEN');
  assert.equal(ws.headers.cookie, 'theme=dark; lang=en', 'the token cookie is removed, the others pass unchanged');
  assert.equal(ws.headers.host, `localhost:${p.port}`, 'Host as the client sent it, with its port');
  const withCert = assertReached(await curl([...as(f, alice), '-H', `Cookie: a=1; ${aliceCookie}; b=2`, p.url('/cert-cookies')]), upstream, '/cert-cookies', 'alice with cookies');
  assert.equal(withCert.headers.cookie, 'a=1; b=2');
  assert.equal(withCert.headers.host, `localhost:${p.port}`);
  const only = assertReached(await curl([...as(f, alice), '-H', `Cookie: ${aliceCookie}`, p.url('/cert-only-token')]), upstream, '/cert-only-token', 'alice with the token only');
  assert.equal(only.headers.cookie, undefined, 'no Cookie header is left when the token was the only cookie');

  // A real WebSocket through the proxy, with the cookie and no certificate: the upgrade completes and messages flow.
  const real = await openWebSocket({ port: p.port, path: '/echo-real', ca: f.caPem, headers: [`Cookie: ${aliceCookie}`] });
  assert.equal(real.status, 101);
  assert.equal(await real.echo('hello through the proxy'), 'hello through the proxy');
  assert.equal(upstream.find('/echo-real')!.headers.cookie, undefined);
  real.close();

  // Only a real opening handshake (RFC 6455 4.1) is an exception, whatever cookie comes with anything else.
  const notHandshakes: [string, string[], string[]?][] = [
    ['a POST with every handshake header', WEBSOCKET_UPGRADE, ['-X', 'POST', '-d', 'x=1']],
    ['Upgrade and Connection only', ['-H', 'Upgrade: websocket', '-H', 'Connection: Upgrade']],
    ['no Sec-WebSocket-Key', handshakeWith('Sec-WebSocket-Key')],
    ['no Sec-WebSocket-Version', handshakeWith('Sec-WebSocket-Version')],
    ['Sec-WebSocket-Version 8', handshakeWith('Sec-WebSocket-Version', 'Sec-WebSocket-Version: 8')],
    ['a key of 15 bytes', handshakeWith('Sec-WebSocket-Key', 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA')],
    ['a key that is not base64 of 16 bytes', handshakeWith('Sec-WebSocket-Key', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==')],
    ['Connection without upgrade', handshakeWith('Connection', 'Connection: keep-alive')],
    ['Upgrade: h2c', handshakeWith('Upgrade', 'Upgrade: h2c')],
  ];
  for (const [i, [what, handshake, more]] of notHandshakes.entries()) {
    assertRefused(await upgradeWith(aliceCookie, `/not-handshake-${i}`, { handshake, more }), upstream, `/not-handshake-${i}`, `${what}, with a valid cookie`);
  }
  // Any capitalisation of the handshake's tokens is still one.
  const mixed = handshakeWith('Upgrade', 'Upgrade: WebSocket').map((h) => (h === 'Connection: Upgrade' ? 'Connection: keep-alive, UPGRADE' : h));
  assertReached(await upgradeWith(aliceCookie, '/ws-mixed-case', { handshake: mixed }), upstream, '/ws-mixed-case', 'a handshake in other capitalisation');

  const expiry = now() + ttl;
  const flip = (c: string) => c.slice(0, -1) + (c.endsWith('0') ? '1' : '0');
  assertRefused(await upgradeWith(undefined, '/ws-none'), upstream, '/ws-none', 'upgrade without certificate or cookie');
  assertRefused(await upgradeWith(flip(aliceCookie), '/ws-tampered-mac'), upstream, '/ws-tampered-mac', 'upgrade with a tampered MAC');
  assertRefused(await upgradeWith(token(bob.serial, cookie.expiry).replace(/\.[0-9a-f]{64}$/, `.${cookie.mac}`), '/ws-swapped'), upstream, '/ws-swapped', "upgrade with bob's serial under alice's MAC");
  assertRefused(await upgradeWith(token(alice.serial, now() - 60), '/ws-expired'), upstream, '/ws-expired', 'upgrade with an expired cookie');
  assertRefused(await upgradeWith(token(alice.serial, now() + 30 * 86400), '/ws-too-long'), upstream, '/ws-too-long', 'upgrade with a cookie beyond the lifetime');
  assertRefused(await upgradeWith(token(alice.serial, expiry, '0'.repeat(64)), '/ws-other-key'), upstream, '/ws-other-key', 'upgrade with a cookie under another key');
  assertRefused(await upgradeWith(token(alice.serial, expiry, secret, 'other.test'), '/ws-other-name'), upstream, '/ws-other-name', 'a MAC over another server name');
  assertRefused(await curl([...as(f), '-H', `Cookie: ${aliceCookie}`, p.url('/plain-cookie')]), upstream, '/plain-cookie', 'a plain request with the cookie and no certificate');
  assertRefused(await upgradeWith(aliceCookie, '/ws-stranger', { client: f.stranger }), upstream, '/ws-stranger', 'a foreign certificate, even with a valid cookie');

  // A cookie minted by the config for another server name (same CA, same home) is refused here, and works there;
  // there the exception holds only on its --websocket-path list.
  const otherPage = await curl([...as(f, alice), other.url('/other-page')]);
  assertReached(otherPage, upstream, '/other-page', 'alice at other.test');
  const minted = parseSetCookie(otherPage.headers['set-cookie']![0]!);
  const otherCookie = `${minted.name}=${minted.serial}.${minted.expiry}.${minted.mac}`;
  assertRefused(await upgradeWith(otherCookie, '/ws-from-other'), upstream, '/ws-from-other', 'a cookie minted for other.test');
  assertReached(await upgradeWith(otherCookie, '/api/websocket', { site: other }), upstream, '/api/websocket', 'its cookie at other.test, on a --websocket-path');
  assertReached(await upgradeWith(otherCookie, '/ws/chat', { site: other }), upstream, '/ws/chat', 'under a --websocket-path ending in /');
  for (const path of ['/elsewhere', '/api/websocket/more', '/api/websocketx', '/ws', '/api']) {
    assertRefused(await upgradeWith(otherCookie, path, { site: other }), upstream, path, `a handshake outside --websocket-path (${path})`);
  }
  // The path as sent must be the path matched: no percent-encoding or dot segments that the server normalises away.
  // Nor what an upstream reads as another path: Tomcat, Jetty and Spring drop `;...` from a
  // segment (`/ws/..;/admin` is /admin there), and WHATWG URL parsers read a backslash as `/`.
  for (const [i, path] of ['/api/%77ebsocket', '/x/../api/websocket', '/ws/./chat', '/ws//chat', '/ws/..;/admin', '/ws/..\\admin', '/api/websocket;x'].entries()) {
    const r = await curl([...as(f), ...WEBSOCKET_UPGRADE, '--path-as-is', '-H', `Cookie: ${otherCookie}`, other.url(`${path}?n=${i}`)]);
    assert.ok(!passed(r), `${path} as sent: expected a refusal, got curl exit ${r.code}, HTTP ${r.status}`);
    assert.equal(upstream.seen.some((x) => x.path.endsWith(`?n=${i}`)), false, `${path} as sent must not reach the upstream`);
  }
  assertReached(await upgradeWith(otherCookie, '/api/websocket?x=1', { site: other }), upstream, '/api/websocket?x=1', 'a query after a --websocket-path');
  assertReached(await curl([...as(f, alice), other.url('/elsewhere-with-cert')]), upstream, '/elsewhere-with-cert', 'a certificate, on any path');

  // Renewal: a cookie past half its life is replaced on the next certificate request; a fresh one is not.
  const old = await curl([...as(f, alice), '-H', `Cookie: ${token(alice.serial, now() + Math.floor(ttl * 0.4))}`, p.url('/renew-old')]);
  assertReached(old, upstream, '/renew-old', 'alice with an old cookie');
  assert.equal(old.headers['set-cookie']?.length, 1, 'a cookie past half its life is renewed');
  assert.ok(parseSetCookie(old.headers['set-cookie']![0]!).expiry >= cookie.expiry);
  const fresh = await curl([...as(f, alice), '-H', `Cookie: ${aliceCookie}`, p.url('/renew-fresh')]);
  assertReached(fresh, upstream, '/renew-fresh', 'alice with a fresh cookie');
  assert.equal(fresh.headers['set-cookie'], undefined, 'a fresh cookie is not replaced');
  const otherDevice = await curl([...as(f, bob), '-H', `Cookie: ${aliceCookie}`, p.url('/renew-bob')]);
  assert.equal(parseSetCookie(otherDevice.headers['set-cookie']![0]!).serial, bob.serial, "bob's certificate replaces alice's cookie with his own");

  // Revoking alice and the publish step `revoke` prints (copy crl.pem, reload as the config says) close her open
  // WebSockets, with the cookie or with her certificate, within the time docs/server.md states, and her cookie dies.
  const bobCookie = token(bob.serial, now() + ttl - 60);
  const open = {
    token: await openWebSocket({ port: p.port, path: '/echo-alice-token', ca: f.caPem, headers: [`Cookie: ${aliceCookie}`] }),
    cert: await openWebSocket({ port: p.port, path: '/echo-alice-cert', ca: f.caPem, cert: alice.cert, key: alice.key }),
  };
  for (const [how, c] of Object.entries(open)) {
    assert.equal(c.status, 101, how);
    assert.equal(await c.echo(`alice by ${how}`), `alice by ${how}`);
  }
  f.ca.ok(['revoke', 'alice']);
  p.copyCrl();
  other.copyCrl();
  const reloadedAt = Date.now();
  await p.server.reload();
  const limit = p.server.closesWithinMs!;
  for (const [how, c] of Object.entries(open)) {
    const closedAt = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), limit + 5000))]);
    assert.ok(closedAt - reloadedAt <= limit + 2000, `alice's WebSocket (${how}) must be closed within ${limit} ms of the reload, took ${closedAt - reloadedAt} ms`);
    t.diagnostic(`${s.kind}: alice's WebSocket (${how}) closed ${closedAt - reloadedAt} ms after the reload`);
  }
  assertRefused(await upgradeWith(aliceCookie, '/ws-revoked'), upstream, '/ws-revoked', "a revoked device's cookie");
  const revokedReal = await openWebSocket({ port: p.port, path: '/echo-revoked', ca: f.caPem, headers: [`Cookie: ${aliceCookie}`] });
  assert.notEqual(revokedReal.status, 101, "a revoked device's cookie opens no WebSocket");
  revokedReal.close();
  assertReached(await upgradeWith(bobCookie, '/ws-bob'), upstream, '/ws-bob', "bob's cookie after alice was revoked");

  // --rotate-secret: every earlier cookie stops working.
  p.publish(['--rotate-secret']);
  assert.notEqual(s.secretIn(p.outDir, p.port), secret);
  await p.server.reload();
  assertRefused(await upgradeWith(bobCookie, '/ws-rotated'), upstream, '/ws-rotated', 'a cookie under the old key');
}

/**
 * The token checkers parse the deployed crl.pem themselves: one that openssl
 * made (a v1 CRL, 300 entries, long DER lengths) with alice among them
 * refuses her cookie and lets bob's through.
 */
export async function opensslCrlScenario(t: TestContext, s: ProxyServer): Promise<void> {
  const p = await runProxy(t, s, ['alice', 'bob'], ['--websocket-token']);
  if (!p) return;
  const { f, upstream } = p;
  const { alice, bob } = f.clients as { alice: Client; bob: Client };
  const secret = s.secretIn(p.outDir, p.port);
  const expiry = Math.floor(Date.now() / 1000) + 3600;
  const upgrade = (client: Client, path: string) => curl([...as(f), ...WEBSOCKET_UPGRADE, '-H', `Cookie: ${websocketToken(secret, 'localhost', client.serial, expiry)}`, p.url(path)]);
  assertReached(await upgrade(alice, '/alice-before'), upstream, '/alice-before', "alice's cookie before");

  const others = Array.from({ length: 300 }, () => randomBytes(16).toString('hex').replace(/^0+/, ''));
  const day = 86_400_000;
  writeOpensslCrl(f.ca, join(p.outDir, 'crl.pem'), { revoked: [...others.slice(0, 150), alice.serial, ...others.slice(150)], lastUpdate: new Date(Date.now() - day), nextUpdate: new Date(Date.now() + day) });
  await p.server.reload();
  assertRefused(await upgrade(alice, '/alice-in-openssl-crl'), upstream, '/alice-in-openssl-crl', "alice's cookie, alice in openssl's CRL");
  assertReached(await upgrade(bob, '/bob-not-in-crl'), upstream, '/bob-not-in-crl', "bob's cookie, bob not in it");
}
