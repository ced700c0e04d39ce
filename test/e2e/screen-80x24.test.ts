/**
 * `share` and `enroll` in a real 80x24 terminal (tmux), issue 10: what stays
 * on the screen is what the phone needs. The whole QR code is on the screen
 * (zbarimg decodes it from the captured characters to the URL on the screen),
 * the URL is the last line, and `enroll`'s generated PKCS#12 password is the
 * line right above the code (openssl opens the .p12 with it) and was shown on
 * a line of its own, unwrapped. A terminal too small for the code says so and
 * draws it when the window grows.
 *
 * Issue 20: nothing pocketca prints folds at 80 columns. tmux's joined
 * capture (`capture-pane -J`) gives back each line the terminal folded as
 * one line, so a line wider than 80 there is one that did not fit.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, PASSPHRASE, pocketca, secretFile, type TestCa } from '../helpers/cli';
import { decodeGrid, halfBlocksToGrid } from '../helpers/qr';
import { curl } from '../helpers/servers';
import { runInTmux, type Screen } from '../helpers/tmux';
import { requireTool } from '../helpers/tools';

const URL_LINE = /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{24}$/;
const BLOCKS = /[▀▄█]/;
const PASSWORD = '[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}';

/** The screen's last non-empty row, when it is the share URL. */
function urlAtBottom(rows: string[]): boolean {
  const last = rows.filter((r) => r.trim()).pop();
  return last !== undefined && URL_LINE.test(last);
}

interface CodeOnScreen {
  url: string;
  /** Index of the code's first row with modules, and the rows of the code. */
  top: number;
  code: string[];
  /** The first non-empty row above the code. */
  above: string;
}

/** The URL at the bottom, the code right above it (all its rows), and what is above the code. */
function readBottom(rows: string[]): CodeOnScreen {
  let i = rows.length - 1;
  while (i >= 0 && !rows[i]!.trim()) i--;
  const url = rows[i]!;
  assert.match(url, URL_LINE, `the URL is the last line:\n${rows.join('\n')}`);
  let end = i - 1;
  while (end >= 0 && !BLOCKS.test(rows[end]!)) {
    assert.equal(rows[end]!.trim(), '', 'only the code\'s light margin between the code and the URL');
    end--;
  }
  let top = end;
  while (top > 0 && /^[ ▀▄█]*$/.test(rows[top - 1]!) && BLOCKS.test(rows[top - 1]!)) top--;
  let a = top - 1;
  while (a >= 0 && !rows[a]!.trim()) a--;
  return { url, top, code: rows.slice(top, end + 1), above: a >= 0 ? rows[a]! : '' };
}

function decodeScreenCode(t: TestContext, dir: string, rows: string[]): CodeOnScreen {
  const screen = readBottom(rows);
  // A version-3 or 4 symbol (29 or 33 modules) in half blocks: 15 to 17 rows with modules.
  assert.ok(screen.code.length >= 15 && screen.code.length <= 17, `${screen.code.length} rows of code`);
  assert.equal(decodeGrid(halfBlocksToGrid(screen.code), join(dir, `screen-${Date.now()}.pgm`)), screen.url + '\n', 'zbarimg reads the URL from the code on the screen');
  return screen;
}

function tools(t: TestContext): boolean {
  return requireTool(t, 'tmux') && requireTool(t, 'zbarimg') && requireTool(t, 'curl');
}

/** Lines of the whole session (scrollback included) the terminal had to fold: none, at 80 columns. */
function assertNothingFolded(screen: Screen, columns = 80): void {
  const joined = screen.joinedHistory();
  const folded = joined.filter((line) => [...line.trimEnd()].length > columns);
  assert.deepEqual(folded, [], `lines wider than ${columns} columns, folded by the terminal:\n${joined.join('\n')}`);
}

async function ended(screen: Screen, timeoutMs = 60_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (screen.exitStatus() === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const status = screen.exitStatus();
  assert.notEqual(status, undefined, `the commands did not end; the screen:\n${screen.capture().join('\n')}`);
  return status!;
}

async function download(url: string, screen: Screen): Promise<void> {
  const got = await curl([url]);
  assert.equal(got.status, 200, got.stderr);
  const end = Date.now() + 15_000;
  while (screen.exitStatus() === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.equal(screen.exitStatus(), 0, `share exits 0 after the download; the screen:\n${screen.capture().join('\n')}`);
}

function share(t: TestContext, ca: TestCa, file: string, size: { columns: number; rows: number }): Screen {
  return runInTmux(t, ca.dir, ['share', join(ca.out, file), '--home', ca.home, '--bind', '127.0.0.1', '--ttl', '60s'], size);
}

test('share at 80x24: the steps, then the whole QR code, then the URL as the last line', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  const screen = share(t, ca, 'alice-iphone.mobileconfig', { columns: 80, rows: 24 });
  const rows = await screen.waitFor(urlAtBottom, 'the URL at the bottom of the screen');
  assert.equal(rows.length, 24);
  const code = decodeScreenCode(t, ca.dir, rows);
  assert.match(rows.slice(0, code.top).join('\n'), /The link works once/, 'the instructions above the code');
  assert.ok(rows.every((r) => [...r].length <= 80));
  await download(code.url, screen);
  assertNothingFolded(screen);
});

test('enroll at 80x24: the generated password unwrapped, repeated right above the code, the URL last', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const screen = runInTmux(t, ca.dir, ['enroll', '--home', ca.home, '--bind', '127.0.0.1', '--ttl', '60s'], { columns: 80, rows: 24, env: { POCKETCA_PASSPHRASE: PASSPHRASE }, cwd: ca.out });
  const answer = async (prompt: RegExp, keys: string[]) => {
    await screen.waitFor((rows) => prompt.test(rows.join('\n')), String(prompt));
    for (const k of keys) screen.keys(k, k !== 'Enter');
    screen.keys('Enter');
  };
  await answer(/Device name/, ['alice-iphone']);
  await answer(/What kind of device is it\?/, []);
  await answer(/Where to write the files\?/, []);
  await answer(/Share alice-iphone\.mobileconfig now/, []);
  const rows = await screen.waitFor(urlAtBottom, 'the URL at the bottom of the screen', 60_000);
  const code = decodeScreenCode(t, ca.dir, rows);
  const [, password] = new RegExp(`^PKCS#12 password: (${PASSWORD})$`).exec(code.above) ?? [];
  assert.ok(password, `the password is the line right above the code, got ${JSON.stringify(code.above)}`);
  // The first showing: the password alone on its line, not cut by the 80-column wrap.
  const history = screen.history();
  assert.ok(history.includes(`  ${password}`), `the password on a line of its own:\n${history.join('\n')}`);
  const pw = secretFile(ca.dir, 'p12pw', password!);
  const opened = openssl(['pkcs12', '-in', join(ca.out, 'alice-iphone.p12'), '-passin', `file:${pw}`, '-nokeys', '-noout']);
  assert.equal(opened.code, 0, `openssl opens the .p12 with the password on the screen: ${opened.stderr}`);
  await download(code.url, screen);
  assertNothingFolded(screen);
});

test('share in a terminal too small for the code says so, then draws it when the window grows', async (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'bob-pixel', '--no-mobileconfig']);
  const screen = share(t, ca, 'bob-pixel.p12', { columns: 80, rows: 16 });
  const small = await screen.waitFor(urlAtBottom, 'the URL at the bottom of the small screen');
  assert.match(small.join('\n'), /warning: the terminal is 80x16 and the QR code needs \d+x\d+/);
  assert.ok(!small.some((r) => BLOCKS.test(r)), 'no partial code on the screen');
  screen.resize(80, 24);
  const grown = await screen.waitFor((rows) => urlAtBottom(rows) && rows.some((r) => BLOCKS.test(r)), 'the code after the resize');
  const code = decodeScreenCode(t, ca.dir, grown);
  await download(code.url, screen);
});

test('list --all, log, show, doctor and init at 80x24: no line folds; a fingerprint breaks at a colon, a table drops and shortens columns', async (t) => {
  if (!requireTool(t, 'tmux')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const long = 'living-room-thermostat-controller-upstairs';
  ca.ok(['issue', 'carol-iphone']);
  ca.ok(['issue', long, '--key-type', 'ec']);
  ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '--ip', '192.168.1.10']);
  // A proxy still holding the CRL from before a revocation: doctor's longest message.
  const deployed = join(ca.dir, 'deployed-crl.pem');
  copyFileSync(join(ca.home, 'crl.pem'), deployed);
  ca.ok(['revoke', 'carol-iphone', '--reason', 'keyCompromise']);
  const home = ca.home;
  const fresh = join(ca.dir, 'another-home-with-a-long-name', 'pocketca-home');
  const screen = runInTmux(t, ca.dir, [], {
    columns: 80,
    rows: 24,
    cwd: ca.out,
    shell: [
      `pocketca list --all --home ${home}`,
      `pocketca log --home ${home}`,
      `pocketca show cloud --home ${home}`,
      `pocketca doctor --home ${home} --deployed-crl ${deployed}`,
      `pocketca init --home ${fresh} --key-size 2048 --passphrase-file ${ca.passFile}`,
    ].join('; '),
  });
  await ended(screen);
  assertNothingFolded(screen);
  const text = screen.history().join('\n');
  // list: SUBJECT dropped, serials shortened to a prefix ending in …, the long name cut.
  assert.match(text, /^SERIAL +NAME +PROFILE +STATUS +EXPIRES *$/m);
  assert.match(text, /^[0-9a-f]{12}… +carol-iphone +client +revoked \(keyCompromise\) +\d{4}-\d\d-\d\d$/m);
  assert.match(text, /^[0-9a-f]{12}… +living-room-therm… +client +valid/m);
  // log: the serial column goes before DETAIL gets too narrow.
  assert.match(text, /^TIME +COMMAND +OUTCOME +NAME +DETAIL$/m);
  // show: the fingerprint in two halves, broken at a colon, the second under the first.
  const shown = JSON.parse(pocketca(['show', 'cloud', '--json', '--home', home]).stdout) as { fingerprintSha256: string };
  const rows = screen.history();
  const at = rows.findIndex((r) => r.startsWith('SHA-256'));
  assert.ok(at >= 0, text);
  assert.equal(rows[at]!.replace(/^SHA-256 +/, '') + rows[at + 1]!.trim(), shown.fingerprintSha256);
  assert.ok(rows[at]!.endsWith(':') && rows[at + 1]!.startsWith(' '.repeat(rows[at]!.indexOf(shown.fingerprintSha256.slice(0, 2)))));
  // doctor: the deployed CRL's message wraps under the message column, every word kept.
  assert.match(text, /deployed-crl/);
  // init: its fingerprint as well.
  assert.match(text, /created CA "CN=pocketca Root CA"/);
});

test('--help of every command fits 80 columns', () => {
  const help = pocketca(['--help']).stdout;
  const commands = [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  assert.ok(commands.length >= 18, commands.join(' '));
  for (const args of [['--help'], ...commands.map((c) => [c, '--help'])]) {
    const r = pocketca(args);
    assert.equal(r.code, 0, r.stderr);
    const wide = r.stdout.split('\n').filter((line) => [...line].length > 80);
    assert.deepEqual(wide, [], `pocketca ${args.join(' ')}`);
  }
});
