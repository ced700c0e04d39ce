/**
 * The device's page at a share link (src/formats/landing-page.ts), what a
 * served file is (src/formats/device-file.ts, on files openssl made), and the
 * one wording the page and the terminal share (src/formats/device-steps.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDeviceFile, type DeviceFile } from '../../src/formats/device-file';
import { deviceGuide, platformFromUserAgent, type DeviceFileKind } from '../../src/formats/device-steps';
import { escapeHtml, LANDING_PAGE_CSP, renderLandingPage } from '../../src/formats/landing-page';
import { deviceSteps } from '../../src/cli/device-steps';
import { wrapLine } from '../../src/cli/layout';
import { openssl } from '../helpers/cli';
import { requireTool } from '../helpers/tools';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'scep');
const CA_PEM = join(FIXTURES, 'ca.pem');
const CA_KEY = join(FIXTURES, 'ca.key.pem');

function opensslFingerprint(pem: string): string {
  const r = openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', pem]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().replace(/^.*Fingerprint=/i, '');
}

const HOSTILE = `<script>alert("x")</script>&'"`;

function page(file: Partial<DeviceFile> & { kind: DeviceFileKind }, platform?: 'ios' | 'android' | 'desktop', fileName = 'x.mobileconfig'): string {
  return renderLandingPage({
    file: { stem: 'alice-iphone', profileHasPassword: false, ...file },
    fileName,
    downloadPath: '/TOKEN/download',
    platform,
    downloadsLeft: 1,
    until: '14:05 (2026-12-03T13:05:00Z)',
  }).html.toString('utf8');
}

describe('landing page', () => {
  test('every string from a user or a file is escaped: device name, CA name, file name', () => {
    const html = page({ kind: 'identity-profile', stem: HOSTILE, ca: { name: HOSTILE, fingerprint: 'AB:CD' } }, 'ios', `${HOSTILE}.mobileconfig`);
    assert.ok(!html.includes('<script'), 'no script element');
    assert.ok(!html.includes('"x"'), 'no raw quote from the name');
    assert.ok(html.includes(escapeHtml(HOSTILE)));
    assert.equal(escapeHtml(HOSTILE), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;');
  });

  test('self-contained: one inline style allowed by its hash, no script, no URL but its own download', () => {
    for (const kind of ['identity-profile', 'scep-profile', 'pkcs12', 'ca-certificate', 'certificate', 'calendar', 'other'] as const) {
      const html = page({ kind, ca: { name: 'Home CA', fingerprint: 'AB:CD' } });
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
      assert.equal(styles.length, 1, kind);
      const hash = createHash('sha256').update(styles[0]!, 'utf8').digest('base64');
      assert.ok(LANDING_PAGE_CSP.includes(`style-src 'sha256-${hash}'`), `${kind}: the CSP allows exactly this style`);
      assert.ok(!/<script|<img|<link|<iframe|<form|\sstyle=|\son[a-z]+=|url\(/i.test(html), `${kind}: nothing loaded, no inline handlers`);
      const urls = [...html.matchAll(/(?:href|src|action)="([^"]*)"/g)].map((m) => m[1]);
      assert.deepEqual(urls, ['/TOKEN/download'], kind);
      assert.ok(!/https?:\/\//.test(html), `${kind}: no absolute URL`);
      assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    }
    assert.match(LANDING_PAGE_CSP, /^default-src 'none'; /);
    assert.match(LANDING_PAGE_CSP, /form-action 'none'/);
    assert.match(LANDING_PAGE_CSP, /frame-ancestors 'none'/);
  });

  test('the detected platform first, every platform shown; the password is named, never shown', () => {
    const ios = page({ kind: 'pkcs12' }, 'ios', 'alice-iphone.p12');
    const android = page({ kind: 'pkcs12' }, 'android', 'alice-iphone.p12');
    const order = (html: string) => [...html.matchAll(/<h2>([^<]+)<\/h2>/g)].map((m) => m[1]);
    assert.deepEqual(order(ios), ['iPhone or iPad', 'Android', 'Computer (macOS, Windows, Linux)']);
    assert.deepEqual(order(android), ['Android', 'iPhone or iPad', 'Computer (macOS, Windows, Linux)']);
    assert.match(ios, /The PKCS#12 password is not on this page/);
    assert.doesNotMatch(page({ kind: 'identity-profile', profileHasPassword: true }), /PKCS#12 password is not on this page/);
    assert.doesNotMatch(page({ kind: 'calendar' }), /password/i);
  });

  test('the fingerprint as the computer prints it, breakable only after its colons', () => {
    const fingerprint = opensslFingerprint(CA_PEM);
    const html = page({ kind: 'identity-profile', ca: { name: 'Fixture-CA', fingerprint } });
    const shown = /<p class="fp">(.*?)<\/p>/.exec(html)![1]!;
    assert.equal(shown.replace(/<wbr>/g, ''), fingerprint);
  });

  test('User-Agents: iPhone, iPad (also as "Macintosh"), Android, desktops; anything else no hint', () => {
    const cases: [string | undefined, string | undefined][] = [
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15', 'ios'],
      ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.5 Safari', 'ios'],
      ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile', 'android'],
      ['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'desktop'],
      ['curl/8.5.0', undefined],
      [undefined, undefined],
    ];
    for (const [ua, platform] of cases) assert.equal(platformFromUserAgent(ua), platform, String(ua));
  });
});

describe('one wording for the page and the terminal', () => {
  test("every step and note of every guide is on the page and on the computer's screen", () => {
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    for (const kind of ['identity-profile', 'scep-profile', 'pkcs12', 'ca-certificate', 'calendar'] as const) {
      const guide = deviceGuide({ kind, stem: 'alice-iphone' });
      assert.ok(guide.length >= 2, kind);
      const html = page({ kind });
      const terminal = flat(deviceSteps({ name: 'alice-iphone.x', kind }).join('\n'));
      for (const g of guide) {
        for (const text of [g.download, ...g.steps, ...g.notes]) {
          assert.ok(html.includes(escapeHtml(text)), `${kind}, ${g.platform}: on the page: ${text}`);
          assert.ok(terminal.includes(flat(text)), `${kind}, ${g.platform}: on the terminal: ${text}`);
        }
      }
    }
  });

  test('the terminal lays the steps out in 80 columns, each step hanging after its number', () => {
    for (const kind of ['identity-profile', 'scep-profile', 'pkcs12', 'ca-certificate', 'calendar'] as const) {
      for (const line of deviceSteps({ name: 'a-device-with-a-long-name-0123456789.p12', kind })) {
        const [first, ...rest] = wrapLine(line, 80);
        for (const shown of [first!, ...rest]) assert.ok(shown.length <= 80, `${kind}: ${shown.length}: ${shown}`);
        // A step's next lines start under its text, not under its number.
        if (/^ {2}\d\. /.test(line)) for (const shown of rest) assert.match(shown, /^ {5}\S/, `${kind}: ${shown}`);
      }
    }
  });
});

describe('what a served file is', () => {
  test('PEM: the CA certificate (openssl fingerprint); a leaf-only PEM is a plain certificate', (t) => {
    if (!requireTool(t, 'openssl')) return;
    const pem = readFileSync(CA_PEM);
    const d = describeDeviceFile('ca.pem', pem);
    assert.deepEqual(d, { kind: 'ca-certificate', stem: 'ca', ca: { name: 'Fixture-CA', fingerprint: opensslFingerprint(CA_PEM) }, profileHasPassword: false });
    const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const leaf = makeLeaf(dir);
    assert.equal(describeDeviceFile('phone.pem', readFileSync(leaf.cert)).kind, 'certificate');
    assert.equal(describeDeviceFile('phone.pem', Buffer.concat([readFileSync(leaf.cert), pem])).ca?.name, 'Fixture-CA', 'a chain: its CA');
  });

  test('PKCS#12: the CA from clear certificate bags (openssl -certpbe NONE, as pocketca legacy); none when they are encrypted', (t) => {
    if (!requireTool(t, 'openssl')) return;
    const dir = mkdtempSync(join(tmpdir(), 'pocketca-unit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const leaf = makeLeaf(dir);
    const p12 = (name: string, extra: string[]) => {
      const path = join(dir, name);
      const r = openssl(['pkcs12', '-export', '-inkey', leaf.key, '-in', leaf.cert, '-certfile', CA_PEM, '-passout', 'pass:pw', '-out', path, ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return readFileSync(path);
    };
    const clear = describeDeviceFile('phone.p12', p12('clear.p12', ['-certpbe', 'NONE']));
    assert.equal(clear.kind, 'pkcs12');
    assert.deepEqual(clear.ca, { name: 'Fixture-CA', fingerprint: opensslFingerprint(CA_PEM) });
    assert.equal(describeDeviceFile('phone.p12', p12('modern.p12', [])).ca, undefined, 'encrypted certificates: no CA claimed');
    assert.equal(describeDeviceFile('phone.p12', Buffer.from('not a pkcs12')).ca, undefined);
  });

  test('profiles: the root payload, a SCEP payload, a password inside', () => {
    const der = Buffer.from(readFileSync(CA_PEM, 'latin1').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const wrapped = der.toString('base64').replace(/.{52}/g, '$&\n\t\t\t');
    const plist = (payloads: string) =>
      Buffer.from(`<?xml version="1.0"?><plist version="1.0"><dict><key>PayloadContent</key><array>${payloads}<dict><key>PayloadContent</key><data>\n\t\t\t${wrapped}\n\t\t\t</data><key>PayloadType</key><string>com.apple.security.root</string></dict></array></dict></plist>`);
    const identity = describeDeviceFile('alice-iphone.mobileconfig', plist('<dict><key>Password</key><string>pw</string><key>PayloadContent</key><data>MIIB</data><key>PayloadType</key><string>com.apple.security.pkcs12</string></dict>'));
    assert.equal(identity.kind, 'identity-profile');
    assert.equal(identity.stem, 'alice-iphone');
    assert.equal(identity.profileHasPassword, true);
    assert.equal(identity.ca?.name, 'Fixture-CA');
    const scep = describeDeviceFile('dev.mobileconfig', plist('<dict><key>PayloadType</key><string>com.apple.security.scep</string></dict>'));
    assert.equal(scep.kind, 'scep-profile');
    assert.equal(scep.ca?.name, 'Fixture-CA');
    assert.equal(describeDeviceFile('reminders.ics', Buffer.from('BEGIN:VCALENDAR')).kind, 'calendar');
    assert.equal(describeDeviceFile('notes.txt', Buffer.from('x')).kind, 'other');
  });
});

function makeLeaf(dir: string): { key: string; cert: string } {
  const key = join(dir, 'leaf.key');
  const csr = join(dir, 'leaf.csr');
  const cert = join(dir, 'leaf.pem');
  for (const args of [
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key],
    ['req', '-new', '-key', key, '-subj', '/CN=phone', '-out', csr],
    ['x509', '-req', '-in', csr, '-CA', CA_PEM, '-CAkey', CA_KEY, '-days', '30', '-out', cert],
  ]) {
    const r = openssl(args);
    assert.equal(r.code, 0, r.stderr);
  }
  return { key, cert };
}
