/**
 * The pure parts of `share` and `qr` (content types, download names, log
 * redaction, LAN address choice, durations, URL checks), and the share server
 * in-process with fixed randomness and a fixed list of interfaces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkInterfaceInfo } from 'node:os';
import { InvalidArgumentError } from 'commander';
import {
  acceptsHtml,
  contentTypeFor,
  formatDuration,
  lanAddresses,
  redactPath,
  safeDownloadName,
  startShare,
  urlHost,
  type ShareRequestLog,
} from '../../src/host/share-server';
import { durationOption } from '../../src/cli/runtime';
import { InputTooLargeError, ShareExpiredError, UsageError } from '../../src/errors';
import { checkQrUrl, MAX_QR_TEXT_BYTES, qrForTerminal, qrMatrix } from '../../src/formats/qr';
import { fetchRaw } from '../helpers/lan-server';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;

describe('share helpers', () => {
  test('content types of the spec, by extension, case-insensitive; others octet-stream', () => {
    assert.equal(contentTypeFor('a.mobileconfig'), 'application/x-apple-aspen-config');
    assert.equal(contentTypeFor('A.MOBILECONFIG'), 'application/x-apple-aspen-config');
    assert.equal(contentTypeFor('a.p12'), 'application/x-pkcs12');
    assert.equal(contentTypeFor('ca.pem'), 'application/x-x509-ca-cert');
    assert.equal(contentTypeFor('a.txt'), 'application/octet-stream');
    assert.equal(contentTypeFor('mobileconfig'), 'application/octet-stream');
  });

  test('download names cannot break the header or hide the file', () => {
    assert.equal(safeDownloadName('/x/alice-iphone.mobileconfig'), 'alice-iphone.mobileconfig');
    assert.equal(safeDownloadName('/x/a"b\r\nSet-Cookie: x.p12'), 'a_b_Set-Cookie_x.p12');
    assert.equal(safeDownloadName('/x/.hidden.p12'), 'hidden.p12');
    assert.equal(safeDownloadName('/x/ünïcödé.pem'), 'n_c_d_.pem');
    assert.equal(safeDownloadName('/x/...'), 'download');
    assert.ok(safeDownloadName('/x/' + 'a'.repeat(300) + '.p12').length <= 100);
    assert.ok(safeDownloadName('/x/' + 'a'.repeat(300) + '.p12').endsWith('.p12'), 'the extension survives the cut');
  });

  test('the log never shows the token, nor anything long enough to be most of it', () => {
    const token = 'qK3v_x-9ZbYtR2mNpLw8sHc4';
    assert.equal(redactPath(`/${token}`, token), '/<token>');
    assert.equal(redactPath(`/${token}/extra`, token), '/<token>/extra');
    assert.equal(redactPath(`/../${token}`, token), '/../<token>');
    assert.equal(redactPath(`/${token.slice(0, -1)}`, token), '/<redacted>');
    assert.equal(redactPath(`/x${token}`, token), '/x<token>');
    assert.equal(redactPath('/favicon.ico', token), '/favicon.ico');
    assert.equal(redactPath('/a b\u0007', token), '/a%20b%07');
    assert.ok(redactPath('/' + 'a/'.repeat(300), token).length <= 203);
  });

  test('the URL names the first non-internal, non-link-local IPv4 address', () => {
    const interfaces = {
      lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
      wlan0: [iface('fe80::1', 'IPv6'), iface('169.254.10.10', 'IPv4'), iface('192.168.1.23', 'IPv4')],
      docker0: [iface('172.17.0.1', 'IPv4')],
    };
    assert.deepEqual(lanAddresses(interfaces), { primary: '192.168.1.23', others: ['172.17.0.1'] });
    assert.deepEqual(lanAddresses({ lo: [iface('127.0.0.1', 'IPv4', true)] }), { primary: undefined, others: [] });
  });

  test('IPv6 hosts go in brackets', () => {
    assert.equal(urlHost('192.168.1.2'), '192.168.1.2');
    assert.equal(urlHost('fd00::2'), '[fd00::2]');
    assert.equal(urlHost('fe80::1%eth0'), '[fe80::1%25eth0]');
  });

  test('--ttl takes 30s, 10m, 1h; nothing else', () => {
    const ttl = durationOption('--ttl');
    assert.equal(ttl('30s'), 30_000);
    assert.equal(ttl('10m'), 600_000);
    assert.equal(ttl('1h'), 3_600_000);
    assert.equal(ttl('24h'), 86_400_000);
    for (const bad of ['10', '0s', '25h', '1d', '-5m', '1.5h', 'm', '', '10 m']) assert.throws(() => ttl(bad), InvalidArgumentError, bad);
    assert.equal(formatDuration(600_000), '10m');
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatDuration(3_600_000), '1h');
  });
});

describe('qr text', () => {
  test('accepts absolute URLs exactly as given', () => {
    for (const url of ['https://example.org/', 'http://192.168.1.2:8080/x?y=1#z', 'mqtts://broker.home.arpa:8883']) assert.equal(checkQrUrl(url), url);
  });
  test('refuses what is not a URL, or too long to scan', () => {
    for (const bad of ['', 'example.org', 'a b', 'https://x/\n', '/relative/path']) assert.throws(() => checkQrUrl(bad), UsageError, JSON.stringify(bad));
    assert.throws(() => checkQrUrl('https://x.org/' + 'a'.repeat(MAX_QR_TEXT_BYTES)), InputTooLargeError);
    // The limit is below what a version-40 symbol at level M holds, so the encoder never refuses first.
    assert.equal(qrMatrix('https://x.org/' + 'a'.repeat(MAX_QR_TEXT_BYTES - 14)).version <= 40, true);
  });
  test('a share link fits an 80x24 terminal with the lines around it (issue 10)', () => {
    const token = 'dBZvQStg9bYQtCImxtu9AgEA';
    // The longest share link: a 15-character IPv4 address and a 5-digit port (53 bytes): version 3 at level L.
    const longest = qrForTerminal(`http://192.168.100.200:65535/${token}`);
    assert.deepEqual([longest.columns, longest.rows], [33, 17]);
    assert.ok(longest.lines.every((l) => l.replace(/\u001b\[[0-9;]*m/g, '').length === 33));
    // Even a 60-character link stays within 19 rows: code + password line + URL + cursor line = 22 of 24.
    const sixty = qrForTerminal(`http://192.168.100.200:65535/${token}abcdefg`);
    assert.ok(sixty.rows <= 19 && sixty.columns <= 37, `${sixty.columns}x${sixty.rows}`);
  });
});

function fetch(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('share server', () => {
  const fixedRandom = (n: number) => Buffer.alloc(n, 0xab);
  const now = () => new Date('2026-06-01T12:00:00Z');

  test('token from the injected randomness; URL on the LAN address; one download, then done', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'x.p12');
    writeFileSync(file, 'p12 bytes');
    const logs: ShareRequestLog[] = [];
    const s = await startShare({
      file,
      randomBytes: fixedRandom,
      now,
      interfaces: { lo: [iface('127.0.0.1', 'IPv4', true)], eth0: [iface('10.1.2.3', 'IPv4')] },
      onRequest: (e) => logs.push(e),
    });
    t.after(() => s.close());
    const token = Buffer.alloc(18, 0xab).toString('base64url');
    assert.equal(s.url, `http://10.1.2.3:${s.port}/${token}`);
    assert.equal(s.noLanAddress, false);
    assert.deepEqual(s.file, { path: file, name: 'x.p12', contentType: 'application/x-pkcs12', size: 9, device: { kind: 'pkcs12', stem: 'x', profileHasPassword: false } });
    assert.equal(s.expiresAt.toISOString(), '2026-06-01T12:10:00.000Z');
    // Bound to every interface: loopback reaches it.
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/nope`)).status, 404);
    const got = await fetch(`http://127.0.0.1:${s.port}/${token}`);
    assert.deepEqual(got, { status: 200, body: 'p12 bytes' });
    assert.deepEqual(await s.done, { downloads: 1 });
    assert.deepEqual(
      logs.map((e) => [e.time, e.remoteAddress, e.method, e.path, e.status, e.completed, e.downloads]),
      [
        ['2026-06-01T12:00:00.000Z', '127.0.0.1', 'GET', '/nope', 404, undefined, 0],
        ['2026-06-01T12:00:00.000Z', '127.0.0.1', 'GET', '/<token>', 200, true, 1],
      ],
    );
  });

  test('no LAN address: the URL falls back to 127.0.0.1 and says so; close() ends it as expired', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'x.mobileconfig');
    writeFileSync(file, '<plist/>');
    const s = await startShare({ file, randomBytes: fixedRandom, now, interfaces: { lo: [iface('127.0.0.1', 'IPv4', true)] }, ttlMs: 60_000 });
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(s.noLanAddress, true);
    s.close();
    await assert.rejects(s.done, (e: unknown) => e instanceof ShareExpiredError && /closed after 0 of 1 download/.test((e as Error).message));
  });

  test('an explicit --bind names itself in the URL', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'ca.pem');
    writeFileSync(file, 'pem');
    const s = await startShare({ file, bind: '127.0.0.1', randomBytes: fixedRandom, now, interfaces: { eth0: [iface('10.1.2.3', 'IPv4')] } });
    t.after(() => s.close());
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.deepEqual(s.otherAddresses, []);
  });

  test('a browser gets the page at the link, again and again; the download link spends it; then both are 404 (and a scep profile gets its own page)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'dana-ipad.mobileconfig');
    const profile = '<plist><dict><key>PayloadType</key><string>com.apple.security.scep</string></dict></plist>';
    writeFileSync(file, profile);
    const logs: ShareRequestLog[] = [];
    const s = await startShare({ file, bind: '127.0.0.1', randomBytes: fixedRandom, now, onRequest: (e) => logs.push(e) });
    t.after(() => s.close());
    assert.equal(s.file.device.kind, 'scep-profile');
    const url = new URL(s.url);
    const html = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'user-agent': 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)' };
    for (let i = 0; i < 3; i++) {
      const page = (await fetchRaw(url, url.pathname, 'GET', undefined, { headers: html }))!;
      assert.equal(page.status, 200);
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(String(page.headers['content-security-policy']), /^default-src 'none'; /);
      assert.match(page.body.toString(), /<h1>dana-ipad<\/h1>/);
      assert.match(page.body.toString(), /SCEP/);
      assert.ok(page.body.includes(`href="${url.pathname}/download"`));
    }
    const head = (await fetchRaw(url, url.pathname, 'HEAD', undefined, { headers: html }))!;
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    const got = (await fetchRaw(url, `${url.pathname}/download`, 'GET', undefined, { headers: html }))!;
    assert.equal(got.status, 200);
    assert.equal(got.body.toString(), profile);
    assert.equal(got.headers['content-type'], 'application/x-apple-aspen-config');
    assert.deepEqual(await s.done, { downloads: 1 });
    assert.deepEqual(
      logs.map((e) => [e.method, e.path, e.status, e.completed, e.note]),
      [
        ['GET', '/<token>', 200, undefined, 'page'],
        ['GET', '/<token>', 200, undefined, 'page'],
        ['GET', '/<token>', 200, undefined, 'page'],
        ['HEAD', '/<token>', 200, undefined, 'page'],
        ['GET', '/<token>/download', 200, true, undefined],
      ],
    );
  });

  test('a spent link shows no page; the download path takes GET and HEAD only', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'ca.pem');
    writeFileSync(file, 'not a certificate');
    const s = await startShare({ file, bind: '127.0.0.1', randomBytes: fixedRandom, now, maxDownloads: 2 });
    t.after(() => s.close());
    const url = new URL(s.url);
    assert.equal((await fetchRaw(url, `${url.pathname}/download`, 'POST'))!.status, 405);
    assert.equal((await fetchRaw(url, `${url.pathname}/download/`))!.status, 404);
    assert.equal((await fetchRaw(url, `${url.pathname}/Download`))!.status, 404);
    assert.equal((await fetchRaw(url, url.pathname))!.body.toString(), 'not a certificate', 'no Accept: the file');
    const page = (await fetchRaw(url, url.pathname, 'GET', undefined, { headers: { accept: 'text/html' } }))!;
    assert.match(page.body.toString(), /The download works once/, 'one of two left');
    assert.equal((await fetchRaw(url, `${url.pathname}/download`))!.status, 200);
    const spent = await fetchRaw(url, url.pathname, 'GET', undefined, { headers: { accept: 'text/html' } });
    assert.ok(spent === null || spent.status === 404);
  });
});

describe('content negotiation', () => {
  test('only a text/html media range with a quality above 0 asks for the page', () => {
    for (const accept of ['text/html', 'TEXT/HTML', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/xhtml+xml, text/html;q=0.5', 'text/html; charset=utf-8']) {
      assert.equal(acceptsHtml(accept), true, accept);
    }
    for (const accept of [undefined, '', '*/*', 'text/*', 'application/x-apple-aspen-config', 'text/html;q=0', 'text/html; q=0.0', 'text/htmlx', 'application/xhtml+xml']) {
      assert.equal(acceptsHtml(accept), false, String(accept));
    }
  });
});
