/**
 * The page a phone's browser gets at a `share` link, opened by Debian's
 * headless Chromium with an iPhone's screen and User-Agent (DevTools over a
 * pipe, test/helpers/chromium.ts): what it shows (the device, the CA's
 * fingerprint as openssl computes it, the download link), what it loads
 * (nothing from anywhere else), its headers (a strict CSP), and the rule
 * that viewing it spends nothing while the download does. A client that
 * does not ask for HTML (curl) gets the file at the link as before.
 */
import { test, type TestContext } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanEnv, createTestCa, openssl, tool } from '../helpers/cli';
import { IPHONE_SAFARI, IPHONE_VIEWPORT, launchChromium } from '../helpers/chromium';
import { fetchRaw, startServing, withTimeout } from '../helpers/lan-server';
import { requireTool } from '../helpers/tools';

/** What Safari sends when it follows a link. */
const SAFARI_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** `pocketca ARGS` without --json: its URL is the last stdout line, under the QR code (10 s at most). */
async function startOnScreen(t: TestContext, args: string[]): Promise<{ url: URL; stderr: () => string; exited: Promise<number> }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  t.after(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
  for (let waited = 0; !/^http:\/\/\S+$/m.test(stdout); waited += 50) {
    if (waited > 10_000) throw new Error(`no URL within 10 s; stderr:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: new URL(/^(http:\/\/\S+)$/m.exec(stdout)![1]!), stderr: () => stderr, exited };
}

function opensslFingerprint(pem: string): string {
  const r = openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', pem]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().replace(/^.*Fingerprint=/i, '');
}

test('share: a phone browser gets the page (name, fingerprint, download link, strict CSP, nothing from elsewhere); views do not spend the link, the download does', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa(['--name', 'Home <b>Root</b> CA']);
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  const profile = join(ca.out, 'alice-iphone.mobileconfig');
  const browser = await launchChromium(t);
  if (!browser) return;

  // Without --json: the computer's screen is part of what is checked.
  const serving = await startOnScreen(t, ['share', profile, '--bind', '127.0.0.1', '--ttl', '90s', '--home', ca.home]);
  const url = serving.url;
  const token = url.pathname.slice(1);

  // The headers, as a browser's request gets them.
  const head = (await fetchRaw(url, url.pathname, 'GET', undefined, { headers: { accept: SAFARI_ACCEPT, 'user-agent': IPHONE_SAFARI } }))!;
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-type'], 'text/html; charset=utf-8');
  const csp = String(head.headers['content-security-policy']);
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
  assert.deepEqual(directives.get('default-src'), ["'none'"], csp);
  assert.match(directives.get('style-src')!.join(' '), /^'sha256-[A-Za-z0-9+/]{43}='$/, `the inline style by its hash only: ${csp}`);
  assert.deepEqual(directives.get('form-action'), ["'none'"], csp);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"], csp);
  assert.ok(!directives.has('script-src') && !directives.has('img-src') && !csp.includes('unsafe'), `nothing else allowed: ${csp}`);
  assert.equal(head.headers['x-content-type-options'], 'nosniff');
  assert.equal(head.headers['referrer-policy'], 'no-referrer');
  assert.equal(head.headers['cache-control'], 'no-store');
  assert.ok(!head.body.includes(readFileSync(profile).subarray(0, 64)), 'the page, not the file');

  // Chromium as an iPhone: record every request it makes and every response it gets.
  const page = await browser.newPage();
  const requests: string[] = [];
  const responses = new Map<string, { mimeType: string; headers: Record<string, string> }>();
  const problems: string[] = [];
  browser.on('Network.requestWillBeSent', (p, s) => s === page && requests.push(p.request.url));
  browser.on('Network.responseReceived', (p, s) => s === page && responses.set(p.response.url, { mimeType: p.response.mimeType, headers: p.response.headers }));
  browser.on('Log.entryAdded', (p, s) => s === page && p.entry.level === 'error' && problems.push(`${p.entry.source}: ${p.entry.text}`));
  await browser.send('Network.enable', {}, page);
  await browser.send('Page.enable', {}, page);
  await browser.send('Log.enable', {}, page);
  await browser.send('Emulation.setDeviceMetricsOverride', IPHONE_VIEWPORT, page);
  await browser.send('Emulation.setUserAgentOverride', { userAgent: IPHONE_SAFARI }, page);
  const open = async () => {
    const loaded = browser.next('Page.loadEventFired', (_, s) => s === page);
    await browser.send('Page.navigate', { url: url.href }, page);
    await loaded;
  };
  const evaluate = async (expression: string) => (await browser.send('Runtime.evaluate', { expression, returnByValue: true }, page)).result.value;

  // Three views of the page: none of them a download.
  for (let i = 0; i < 3; i++) await open();
  const shown = await evaluate(`(() => {
    const a = document.getElementById('download');
    const box = a.getBoundingClientRect();
    return {
      title: document.title,
      h1: document.querySelector('h1').textContent,
      fingerprint: document.querySelector('.fp').textContent,
      text: document.body.innerText,
      href: a.getAttribute('href'),
      button: { height: box.height, width: box.width, background: getComputedStyle(a).backgroundColor },
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      viewport: document.querySelector('meta[name=viewport]').content,
      scripts: document.scripts.length,
      links: [...document.querySelectorAll('[href],[src],[srcset],[action],[style],link,img,iframe,object,embed,form')].map((e) => e.outerHTML.slice(0, 200)),
      html: document.documentElement.outerHTML,
    };
  })()`);
  assert.equal(shown.h1, 'alice-iphone');
  assert.equal(shown.title, 'alice-iphone · pocketca');
  assert.equal(shown.fingerprint, opensslFingerprint(join(ca.home, 'ca.pem')), 'the fingerprint openssl computes, as pocketca prints it');
  assert.match(serving.stderr(), new RegExp(`^  ${shown.fingerprint}$`, 'm'), "the same fingerprint on the computer's screen");
  // The CA's name is shown as text, escaped: no <b> element came from it.
  assert.match(shown.text, /Home <b>Root<\/b> CA/);
  assert.ok(!/<b>/.test(shown.html), 'the CA name is escaped');
  assert.match(shown.text, /Settings and tap "Profile Downloaded"/);
  assert.match(shown.text, /iPhone or iPad[\s\S]*Android/, "the iPhone's steps first");
  assert.match(shown.text, /Home Assistant/);
  assert.match(shown.text, /PKCS#12 password is not on this page/);
  assert.equal(shown.href, `/${token}/download`);
  // Readable on a phone: no sideways scrolling, a large tap target, the inline style applied (the CSP let it through).
  assert.equal(shown.innerWidth, 390);
  assert.ok(shown.scrollWidth <= shown.innerWidth, `no horizontal scroll: ${shown.scrollWidth} > ${shown.innerWidth}`);
  assert.match(shown.viewport, /width=device-width/);
  assert.ok(shown.button.height >= 44 && shown.button.width >= 300, `a tap target of ${shown.button.width}x${shown.button.height}`);
  assert.notEqual(shown.button.background, 'rgba(0, 0, 0, 0)', 'the style sheet applies');
  assert.equal(shown.scripts, 0);
  assert.deepEqual(shown.links, [`<a class="download" id="download" href="/${token}/download">Download alice-iphone.mobileconfig</a>`], 'one link, to its own download; nothing loaded');
  assert.deepEqual(problems, [], 'no CSP violation or load error');

  // The download, as a tap on the button does it.
  await browser.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: browser.dir, eventsEnabled: true });
  const began = browser.next('Browser.downloadWillBegin');
  const finished = browser.next('Browser.downloadProgress', (p) => p.state === 'completed' || p.state === 'canceled', 30_000);
  await evaluate(`document.getElementById('download').click()`);
  assert.equal((await began).suggestedFilename, 'alice-iphone.mobileconfig');
  assert.equal((await finished).state, 'completed');
  const saved = readdirSync(browser.dir).find((f) => f.endsWith('.mobileconfig'));
  assert.ok(saved, `the profile was saved: ${readdirSync(browser.dir).join(', ')}`);
  assert.ok(readFileSync(join(browser.dir, saved)).equals(readFileSync(profile)), 'byte for byte');
  const downloaded = responses.get(`${url.href}/download`);
  assert.equal(downloaded?.mimeType, 'application/x-apple-aspen-config', JSON.stringify([...responses.keys()]));

  // The share ends after its one download, not after the three views.
  assert.equal(await withTimeout(serving.exited, 15_000, 'share exits after the download'), 0, serving.stderr());
  const log = serving.stderr();
  assert.equal(log.match(/GET \/<token> 200 {2}\(the page; not a download\)$/gm)?.length, 4, log);
  assert.match(log, /GET \/<token>\/download 200 {2}download 1 of 1$/m);
  assert.ok(!log.includes(token), 'the token is not logged');
  const again = await fetchRaw(url, url.pathname, 'GET', undefined, { headers: { accept: SAFARI_ACCEPT } });
  assert.ok(again === null || again.status === 404, 'the spent link shows no page');

  // Chromium asked this server for everything it loaded, and nothing else.
  assert.ok(requests.length >= 4, requests.join('\n'));
  for (const r of requests) assert.equal(new URL(r).origin, url.origin, `a request to another origin: ${r}`);
});

test('share: a client that does not ask for HTML (curl) gets the file at the link, as before; the link stays unspent by a page view', async (t) => {
  if (!requireTool(t, 'curl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'bob-pixel']);
  const p12 = join(ca.out, 'bob-pixel.p12');
  const serving = await startServing(t, ['share', p12, '--bind', '127.0.0.1', '--json', '--ttl', '60s', '--home', ca.home], ['url'], 'share');
  const url = serving.json.url!;

  const page = tool('curl', ['-sS', '--max-time', '10', '-H', `Accept: ${SAFARI_ACCEPT}`, '-A', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile', url]);
  assert.equal(page.code, 0, page.stderr);
  assert.match(page.stdout, /<h1>bob-pixel<\/h1>/);
  assert.match(page.stdout, /<h2>Android<\/h2>[\s\S]*<h2>iPhone or iPad<\/h2>/, "Android's steps first for an Android browser");
  assert.match(page.stdout, /VPN &amp; app user certificate/);

  const file = join(ca.dir, 'got.p12');
  const got = tool('curl', ['-sS', '--max-time', '10', '-D', '-', '-o', file, url]);
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /^HTTP\/1\.1 200 OK\r$/m);
  assert.match(got.stdout, /^Content-Type: application\/x-pkcs12\r$/m);
  assert.match(got.stdout, /^Content-Disposition: attachment; filename="bob-pixel\.p12"\r$/m);
  assert.doesNotMatch(got.stdout, /Content-Security-Policy/i);
  assert.ok(readFileSync(file).equals(readFileSync(p12)), 'byte for byte');
  assert.equal(await withTimeout(serving.exited, 10_000, 'exit after the download'), 0, serving.stderr());
});

test('scep: the enrollment link shows the page too (same server), and the profile still goes to a client that does not ask for HTML', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const serving = await startServing(t, ['scep', 'dana-ipad', '--out-dir', ca.out, '--bind', '127.0.0.1', '--json', '--ttl', '30s', '--home', ca.home, '--passphrase-file', ca.passFile], ['url', 'scepUrl'], 'scep');
  const url = new URL(serving.json.url!);
  const page = (await fetchRaw(url, url.pathname, 'GET', undefined, { headers: { accept: SAFARI_ACCEPT, 'user-agent': IPHONE_SAFARI } }))!;
  assert.equal(page.status, 200);
  const html = page.body.toString();
  assert.match(html, /<h1>dana-ipad<\/h1>/);
  assert.match(html, /makes its own key and asks the computer for its certificate \(SCEP\)/);
  assert.ok(html.replace(/<wbr>/g, '').includes(opensslFingerprint(join(ca.home, 'ca.pem'))), "the CA's fingerprint");
  assert.ok(!html.includes('<string>'), 'nothing of the profile (its challenge) on the page');
  const profile = (await fetchRaw(url, url.pathname))!;
  assert.equal(profile.status, 200);
  assert.equal(profile.headers['content-type'], 'application/x-apple-aspen-config');
  assert.match(profile.body.toString(), /com\.apple\.security\.scep/);
  const caps = (await fetchRaw(url, `${url.pathname}/scep?operation=GetCACaps`, 'GET', undefined, { headers: { accept: SAFARI_ACCEPT } }))!;
  assert.equal(caps.status, 200, 'the SCEP handler answers whatever the Accept');
  assert.match(caps.body.toString(), /POSTPKIOperation/);
});
