/**
 * `pocketca share` over loopback with a real HTTP client (node's http, which
 * sends the request-target exactly as written: no `..` folding, no
 * percent-decoding, unlike a browser or curl without --path-as-is). Every
 * test runs its own server process, bounded in time, killed in t.after.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanEnv, createTestCa, pocketca, tempDir } from '../helpers/cli';
import { fetchRaw, startServing, withTimeout } from '../helpers/lan-server';

interface ShareProcess {
  url: URL;
  token: string;
  stderr: () => string;
  exited: Promise<number>;
}

/** Start `pocketca share FILE --bind 127.0.0.1 --json ...`, wait for its `{"url"}` line (10 s at most). */
async function startShare(t: TestContext, file: string, args: string[] = [], bind = ['--bind', '127.0.0.1']): Promise<ShareProcess> {
  const serving = await startServing(t, ['share', file, ...bind, '--json', ...args], ['url'], 'share');
  const url = new URL(serving.json.url!);
  return { url, token: url.pathname.slice(1), stderr: serving.stderr, exited: serving.exited };
}

function fixture(t: TestContext, name: string, bytes: Buffer = randomBytes(4096)): string {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

test('share: the download matches byte for byte with the profile content type; wrong tokens and traversal get 404; then it exits 0', async (t) => {
  const bytes = randomBytes(20_000);
  const file = fixture(t, 'alice-iphone.mobileconfig', bytes);
  const s = await startShare(t, file);
  assert.equal(s.url.protocol, 'http:');
  assert.equal(s.url.hostname, '127.0.0.1');
  // At least 128 bits: 22+ base64url characters (SPEC share).
  assert.match(s.token, /^[A-Za-z0-9_-]{22,}$/);
  assert.ok(Buffer.from(s.token, 'base64url').length >= 16);

  const other = randomBytes(18).toString('base64url');
  const flipped = (s.token[0] === 'A' ? 'B' : 'A') + s.token.slice(1);
  const probes = [
    '/',
    '/favicon.ico',
    `/${other}`,
    `/${flipped}`,
    `/${s.token.slice(0, -1)}`,
    `/${s.token}x`,
    `/${s.token.toLowerCase() === s.token ? s.token.toUpperCase() : s.token.toLowerCase()}`,
    `/${s.token}/`,
    `/${s.token}/extra`,
    `/${s.token}/../${s.token}`,
    `/../${s.token}`,
    `/./${s.token}`,
    `//${s.token}`,
    `/%2e%2e/${s.token}`,
    `/%2E%2E%2F${s.token}`,
    `/${s.token}%2f..%2f..%2fetc%2fpasswd`,
    `/../../../../etc/passwd`,
    `/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
    `/${encodeURIComponent(file)}`,
    `/${s.token}?download=1`,
    `/${s.token}#x`,
    `/${s.token.replace(/./, (c) => '%' + c.charCodeAt(0).toString(16))}`,
  ];
  for (const path of probes) {
    const r = await fetchRaw(s.url, path);
    assert.ok(r, `server answers ${path}`);
    assert.equal(r.status, 404, `GET ${path}`);
    assert.ok(!r.body.includes(bytes.subarray(0, 64)), `no file bytes for ${path}`);
    assert.equal(r.headers['cache-control'], 'no-store');
  }
  // Wrong methods: 404 elsewhere, 405 on the link; HEAD answers without counting as a download.
  assert.equal((await fetchRaw(s.url, `/${other}`, 'POST'))!.status, 404);
  const post = (await fetchRaw(s.url, `/${s.token}`, 'POST'))!;
  assert.equal(post.status, 405);
  assert.equal(post.headers['allow'], 'GET, HEAD');
  assert.equal((await fetchRaw(s.url, `/${s.token}`, 'DELETE'))!.status, 405);
  const head = (await fetchRaw(s.url, `/${s.token}`, 'HEAD'))!;
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], String(bytes.length));

  const got = (await fetchRaw(s.url, `/${s.token}`))!;
  assert.equal(got.status, 200);
  assert.ok(got.body.equals(bytes), 'byte for byte');
  assert.equal(got.headers['content-type'], 'application/x-apple-aspen-config');
  assert.equal(got.headers['content-length'], String(bytes.length));
  assert.equal(got.headers['content-disposition'], 'attachment; filename="alice-iphone.mobileconfig"');
  assert.equal(got.headers['cache-control'], 'no-store');
  assert.equal(got.headers['x-content-type-options'], 'nosniff');

  // The link is spent: a second download fails (404, or refused once the server has closed).
  const again = await fetchRaw(s.url, `/${s.token}`);
  assert.ok(again === null || again.status === 404, `second download: ${again?.status}`);
  assert.equal(await withTimeout(s.exited, 10_000, 'exit after the download'), 0, s.stderr());

  // Each request is logged with time, address, method, path and status, and the token never appears.
  const log = s.stderr();
  assert.ok(!log.includes(s.token), 'token redacted from the log');
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1 GET \/<token> 200\b/m);
  assert.match(log, /^\S+ 127\.0\.0\.1 GET \/favicon\.ico 404$/m);
  assert.match(log, /^\S+ 127\.0\.0\.1 GET \/<token>\/extra 404$/m);
  assert.match(log, /^\S+ 127\.0\.0\.1 HEAD \/<token> 200$/m);
  assert.match(log, /^\S+ 127\.0\.0\.1 POST \/<token> 405$/m);
  assert.doesNotMatch(log, /error:/);
});

test('share: content types and a safe Content-Disposition name for .p12, .pem and other files', async (t) => {
  const cases: [string, string, string][] = [
    ['bob-pixel.p12', 'application/x-pkcs12', 'bob-pixel.p12'],
    ['ca.pem', 'application/x-x509-ca-cert', 'ca.pem'],
    ['notes.txt', 'application/octet-stream', 'notes.txt'],
    ['we"ird name\\x.p12', 'application/x-pkcs12', 'we_ird_name_x.p12'],
  ];
  for (const [name, type, shown] of cases) {
    const bytes = randomBytes(3000);
    const s = await startShare(t, fixture(t, name, bytes));
    const got = (await fetchRaw(s.url, `/${s.token}`))!;
    assert.equal(got.status, 200, name);
    assert.ok(got.body.equals(bytes), name);
    assert.equal(got.headers['content-type'], type, name);
    assert.equal(got.headers['content-disposition'], `attachment; filename="${shown}"`, name);
    assert.equal(await withTimeout(s.exited, 10_000, `exit after ${name}`), 0);
  }
});

test('share: --ttl 1s ends it with exit 1 and says the link expired', async (t) => {
  const s = await startShare(t, fixture(t, 'phone.mobileconfig'), ['--ttl', '1s']);
  const started = Date.now();
  assert.equal(await withTimeout(s.exited, 10_000, 'exit at the TTL'), 1);
  assert.ok(Date.now() - started >= 800, 'not before the TTL');
  assert.match(s.stderr(), /error: the link expired \(--ttl 1s\) after 0 of 1 download/);
  assert.match(s.stderr(), /hint: run pocketca share again/);
  assert.equal(await fetchRaw(s.url, `/${s.token}`), null, 'nothing listens any more');
});

test('share: --max-downloads 2 allows exactly two downloads, then exits 0', async (t) => {
  const bytes = randomBytes(5000);
  const s = await startShare(t, fixture(t, 'laptop.p12', bytes), ['--max-downloads', '2', '--ttl', '30s']);
  for (const n of [1, 2]) {
    const got = (await fetchRaw(s.url, `/${s.token}`))!;
    assert.equal(got.status, 200, `download ${n}`);
    assert.ok(got.body.equals(bytes));
  }
  const third = await fetchRaw(s.url, `/${s.token}`);
  assert.ok(third === null || third.status === 404, `third download: ${third?.status}`);
  assert.equal(await withTimeout(s.exited, 10_000, 'exit after two downloads'), 0, s.stderr());
  assert.match(s.stderr(), /download 1 of 2/);
  assert.match(s.stderr(), /download 2 of 2/);
});

test('share: concurrent requests for a one-time link get the file once', async (t) => {
  const bytes = randomBytes(200_000);
  const s = await startShare(t, fixture(t, 'race.mobileconfig', bytes), ['--ttl', '30s']);
  const replies = await Promise.all(Array.from({ length: 8 }, () => fetchRaw(s.url, `/${s.token}`)));
  const ok = replies.filter((r) => r?.status === 200);
  assert.equal(ok.length, 1, `statuses: ${replies.map((r) => r?.status ?? 'refused').join(', ')}`);
  assert.ok(ok[0]!.body.equals(bytes));
  assert.equal(await withTimeout(s.exited, 10_000, 'exit'), 0);
});

test('share: without --bind it listens on every interface (reachable on loopback), naming a LAN address or 127.0.0.1', async (t) => {
  const s = await startShare(t, fixture(t, 'any.pem'), ['--ttl', '30s'], []);
  assert.match(s.url.hostname, /^\d+\.\d+\.\d+\.\d+$/, 'an IPv4 address in the URL');
  const loopback = new URL(s.url.href);
  loopback.hostname = '127.0.0.1';
  const got = (await fetchRaw(loopback, `/${s.token}`))!;
  assert.equal(got.status, 200);
  assert.equal(await withTimeout(s.exited, 10_000, 'exit'), 0);
});

test('share: refuses a missing file, a directory, a file over 10 MiB and bad options with exit 2', (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const big = join(dir, 'big.p12');
  writeFileSync(big, '');
  truncateSync(big, 10 * 1024 * 1024 + 1);
  const sub = join(dir, 'sub.mobileconfig');
  mkdirSync(sub);
  const ok = join(dir, 'ok.p12');
  writeFileSync(ok, 'x');
  const cases: [string[], RegExp][] = [
    [['share', join(dir, 'missing.mobileconfig')], /error: cannot read file .*missing\.mobileconfig: no such file/],
    [['share', sub], /error: cannot read file .*sub\.mobileconfig: it is a directory/],
    [['share', big], /error: file .*big\.p12 is 10485761 bytes/],
    [['share', ok, '--ttl', '10'], /--ttl must be a number with s, m or h/],
    [['share', ok, '--ttl', '0s'], /--ttl must be from 1s to 24h/],
    [['share', ok, '--ttl', '25h'], /--ttl must be from 1s to 24h/],
    [['share', ok, '--max-downloads', '0'], /--max-downloads must be from 1/],
    [['share', ok, '--port', '70000'], /--port must be from 1 to 65535/],
    [['share', ok, '--bind', 'my-laptop'], /error: --bind needs an IP address such as 192\.168\.1\.10; without --bind, every interface \(got "my-laptop"\)/],
    [['share'], /missing required argument/],
  ];
  for (const [args, words] of cases) {
    const r = pocketca(args, { timeoutMs: 10_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, words, args.join(' '));
    assert.equal(r.stdout, '', 'no URL printed');
  }
});

test('share: a port in use is exit 1 with a hint', async (t) => {
  const s = await startShare(t, fixture(t, 'first.pem'), ['--ttl', '30s']);
  const r = pocketca(['share', fixture(t, 'second.pem'), '--bind', '127.0.0.1', '--port', s.url.port], { timeoutMs: 10_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`error: port ${s.url.port} is already in use`));
  assert.match(r.stderr, /hint: choose another --port/);
});

test('share without --json prints a QR code and the URL under it on stdout and the steps on the phone on stderr', async (t) => {
  const file = fixture(t, 'carol-ipad.mobileconfig');
  const child = spawn(process.execPath, [BIN, 'share', file, '--bind', '127.0.0.1', '--ttl', '2s'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await withTimeout(new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1))), 15_000, 'exit at the TTL');
  assert.equal(code, 1);
  // The URL is the last line, under the code (issue 10: the top scrolls off an 80x24 screen, not the bottom).
  const qr = stdout.trimEnd().split('\n');
  const urlLine = qr.pop();
  assert.match(urlLine!, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{24}$/);
  assert.ok(qr.length > 10 && qr.some((l) => /[▀▄█]/.test(l)), 'a QR code in half blocks');
  assert.match(stderr, /open the link in Safari/);
  assert.match(stderr, /Settings and tap "Profile Downloaded"/);
  assert.match(stderr, /Within 8 minutes/);
  assert.match(stderr, /Settings > General > About > Certificate Trust Settings/);
  assert.match(stderr, /The PKCS#12 password is not in the link/);
  assert.ok(!stderr.includes(urlLine!.split('/').pop()!), 'the token appears only on stdout');
});

test('issue of a client prints the way onto the device on stderr, not with --json or --quiet', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const r = ca.ok(['issue', 'alice-iphone']);
  assert.match(r.stderr, /next, to put it on the device/);
  assert.match(r.stderr, /iPhone\/iPad: +pocketca share alice-iphone\.mobileconfig\n/);
  assert.match(r.stderr, /Android, desktop: +pocketca share alice-iphone\.p12\n/);
  assert.match(r.stderr, /never part of the link/);
  assert.doesNotMatch(r.stdout, /pocketca share/, 'next steps are not results');
  const noProfile = ca.ok(['issue', 'bob-pixel', '--no-mobileconfig']);
  assert.doesNotMatch(noProfile.stderr, /mobileconfig/);
  assert.match(noProfile.stderr, /pocketca share bob-pixel\.p12/);
  for (const flag of ['--json', '--quiet']) assert.doesNotMatch(ca.ok(['issue', `quiet${flag}`, flag]).stderr, /pocketca share/, flag);
  assert.doesNotMatch(ca.ok(['issue', 'web', '--profile', 'server', '--dns', 'web.home.arpa']).stderr, /pocketca share/, 'not for a server');
});

test('share --bind 127.0.0.1 warns on stderr that a phone cannot reach it, and still serves this machine', async (t) => {
  const s = await startShare(t, fixture(t, 'local.pem'), ['--ttl', '30s'], ['--bind', '127.0.0.1']);
  const got = (await fetchRaw(s.url, `/${s.token}`))!;
  assert.equal(got.status, 200);
  assert.equal(await withTimeout(s.exited, 10_000, 'exit'), 0);
  assert.match(s.stderr(), /^warning: --bind 127\.0\.0\.1 is this machine only: a phone cannot reach the link; leave --bind out/m);
  const all = await startShare(t, fixture(t, 'lan.pem'), ['--ttl', '30s'], ['--bind', '0.0.0.0']);
  const loopback = new URL(all.url.href);
  loopback.hostname = '127.0.0.1';
  assert.equal((await fetchRaw(loopback, `/${all.token}`))!.status, 200);
  assert.equal(await withTimeout(all.exited, 10_000, 'exit'), 0);
  assert.doesNotMatch(all.stderr(), /is this machine only/, 'every interface: no such warning');
});
