/**
 * `pocketca enroll` driven through a pseudo-terminal (util-linux `script`),
 * answering each prompt after it appears. The identity it makes is checked
 * with openssl: the PKCS#12 opens with the password the wizard showed and its
 * certificate verifies against ca.pem for client authentication.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, PASSPHRASE, secretFile, type TestCa } from '../helpers/cli';
import { KEY, ptyForTest, screenText, type PtySession } from '../helpers/pty';
import { requireTool } from '../helpers/tools';

function enroll(t: TestContext, ca: TestCa, args: string[], env: Record<string, string> = {}): PtySession {
  return ptyForTest(t, ['enroll', '--home', ca.home, ...args], { cwd: ca.out, env });
}

/** Answer a prompt: wait for its text, then type. */
async function answer(s: PtySession, prompt: RegExp, keys: string): Promise<void> {
  await s.waitFor(prompt, 30_000);
  s.type(keys);
}

function checkIdentity(ca: TestCa, p12: string, password: string, name: string): void {
  const pw = secretFile(ca.dir, `p12pw-${name}`, password);
  const certPem = join(ca.dir, `${name}-from-p12.pem`);
  const opened = openssl(['pkcs12', '-in', p12, '-passin', `file:${pw}`, '-nokeys', '-clcerts', '-out', certPem]);
  assert.equal(opened.code, 0, `openssl opens the PKCS#12 with the shown password: ${opened.stderr}`);
  const wrong = openssl(['pkcs12', '-in', p12, '-passin', 'pass:not-the-password', '-nokeys', '-noout']);
  assert.notEqual(wrong.code, 0, 'and not with another');
  const keyOk = openssl(['pkcs12', '-in', p12, '-passin', `file:${pw}`, '-nocerts', '-nodes', '-noout']);
  assert.equal(keyOk.code, 0, 'the key is inside');
  const verify = openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), '-purpose', 'sslclient', certPem]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const subject = openssl(['x509', '-in', certPem, '-noout', '-subject']).stdout;
  assert.match(subject, new RegExp(`CN ?= ?${name}\\b`));
}

function fetchOnce(url: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

test('enroll an iPhone at a terminal: re-asks an invalid name, shows the password, shares the profile once', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = enroll(t, ca, ['--bind', '127.0.0.1', '--ttl', '60s'], { POCKETCA_PASSPHRASE: PASSPHRASE });

  await s.waitFor(/Device name/);
  const before = s.mark(); // before typing: the error may be drawn before the next line of the test runs
  s.type(`bad name${KEY.enter}`);
  await s.waitFor(/invalid name "bad name"/, 30_000, before);
  s.type(`${KEY.ctrlU}../evil${KEY.enter}`);
  await s.waitFor(/invalid name "\.\.\/evil"/, 30_000, before);
  s.type(`${KEY.ctrlU}alice-iphone${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, KEY.enter); // the first choice: iPhone or iPad
  await answer(s, /Where to write the files\?/, KEY.enter); // the default: the current directory
  const [, password] = await s.waitFor(/PKCS#12 password \(shown once[^)]*\):\n  ([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})\n/);
  await answer(s, /Share alice-iphone\.mobileconfig now/, KEY.enter); // default yes
  const [url] = await s.waitFor(/http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{24}/);
  await s.waitFor(/Profile Downloaded/);

  const got = await fetchOnce(url!);
  assert.equal(got.status, 200);
  assert.equal(got.type, 'application/x-apple-aspen-config');
  const profile = join(ca.out, 'alice-iphone.mobileconfig');
  assert.ok(got.body.equals(readFileSync(profile)), 'the shared bytes are the profile on disk');
  assert.equal(await s.exited, 0, screenText(s.output()));

  const screen = screenText(s.output());
  const token = url!.split('/').pop()!;
  const logLines = screen.split('\n').filter((l) => / (GET|HEAD) \/\S* \d{3}\b/.test(l));
  assert.ok(logLines.some((l) => /127\.0\.0\.1 GET \/<token> 200\b/.test(l)), 'the download is logged');
  assert.ok(logLines.every((l) => !l.includes(token)), 'with the token redacted');
  assert.match(screen, /Certificate Trust Settings/);
  checkIdentity(ca, join(ca.out, 'alice-iphone.p12'), password!, 'alice-iphone');
  // The wizard records like issue does.
  const list = JSON.parse(ca.ok(['list', '--json']).stdout);
  assert.deepEqual(
    list.map((c: { name: string; profile: string }) => [c.name, c.profile]),
    [['alice-iphone', 'client']],
  );
});

test('enroll an Android phone: CA passphrase at the prompt first, a new directory made 0700, no profile, sharing declined', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const dir = join(ca.dir, 'for-bob'); // missing: made, as `issue --out-dir` makes it
  const s = enroll(t, ca, []);

  await answer(s, /CA passphrase:/, `${PASSPHRASE}${KEY.enter}`);
  await answer(s, /Device name/, `bob-pixel${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, `${KEY.down}${KEY.enter}`); // Android
  await s.waitFor(/Android and desktops import the \.p12/);
  await s.waitFor(/Where to write the files\?/);
  let before = s.mark();
  // The CA home is refused by the output rule, and asked again (it used to end the command).
  s.type(`${ca.home}${KEY.enter}`);
  await s.waitFor(/is inside the CA home/, 30_000, before);
  before = s.mark();
  // Only the last directory is made, as for issue --out-dir.
  s.type(`${KEY.ctrlU}${join(ca.dir, 'nowhere', 'deeper')}${KEY.enter}`);
  await s.waitFor(/its parent \S*nowhere does not exist/, 30_000, before);
  s.type(`${KEY.ctrlU}${dir}${KEY.enter}`);
  await s.waitFor(/for-bob does not exist\. Create it \(mode 0700\)\?/, 30_000, before);
  // Declined: asked where again, and nothing made.
  before = s.mark();
  s.type(`n${KEY.enter}`);
  await s.waitFor(/Where to write the files\?/, 30_000, before);
  assert.equal(existsSync(dir), false);
  before = s.mark();
  s.type(`${KEY.ctrlU}${dir}${KEY.enter}`);
  await s.waitFor(/Create it \(mode 0700\)\?/, 30_000, before);
  s.type(KEY.enter); // the default: yes
  const [, password] = await s.waitFor(/PKCS#12 password \(shown once[^)]*\):\n  (\S+)\n/);
  await answer(s, /Share bob-pixel\.p12 now/, `n${KEY.enter}`);
  assert.equal(await s.exited, 0, screenText(s.output()));

  const screen = screenText(s.output());
  assert.ok(!screen.includes(PASSPHRASE), 'the passphrase is masked');
  assert.match(screen, /pocketca share \S*bob-pixel\.p12/, 'the way to share it later');
  assert.equal(existsSync(join(dir, 'bob-pixel.mobileconfig')), false, 'no profile for Android');
  assert.equal(existsSync(join(ca.out, 'bob-pixel.p12')), false, 'written to the chosen directory only');
  checkIdentity(ca, join(dir, 'bob-pixel.p12'), password!, 'bob-pixel');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(ca.home).filter((f) => f.startsWith('bob-pixel')), [], 'nothing in the home');
});

test('enroll: the CA passphrase first, a wrong one asked again; every question asked once, "issuing" only after the passphrase', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = enroll(t, ca, []);
  await answer(s, /CA passphrase:/, `not the passphrase${KEY.enter}`);
  await answer(s, /Wrong passphrase\. CA passphrase \(try 2 of 3\):/, `${PASSPHRASE}${KEY.enter}`);
  await answer(s, /Device name/, `carol-laptop${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, `${KEY.down}${KEY.down}${KEY.enter}`); // desktop
  await answer(s, /Where to write the files\?/, KEY.enter);
  const [, password] = await s.waitFor(/PKCS#12 password \(shown once[^)]*\):\n  (\S+)\n/);
  await answer(s, /Share carol-laptop\.p12 now/, `n${KEY.enter}`);
  assert.equal(await s.exited, 0, screenText(s.output()));
  const screen = screenText(s.output());
  // inquirer redraws a prompt at each key: what matters is that no question came before the last passphrase try.
  assert.ok(screen.indexOf('Device name') > screen.lastIndexOf('CA passphrase'), 'the questions come once the passphrase is right');
  assert.ok(screen.indexOf('issuing a client certificate') > screen.lastIndexOf('CA passphrase'), 'issuing is said once it has the passphrase');
  assert.ok(screen.indexOf('issuing a client certificate') > screen.indexOf('Where to write the files?'));
  checkIdentity(ca, join(ca.out, 'carol-laptop.p12'), password!, 'carol-laptop');
  const refused = JSON.parse(ca.ok(['log', '--json']).stdout).filter((e: { outcome: string }) => e.outcome === 'refused');
  assert.equal(refused.length, 1, 'the wrong try is in the audit log');
});

test('enroll: three wrong CA passphrases are exit 1 before any question; nothing issued', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = enroll(t, ca, []);
  await answer(s, /CA passphrase:/, `wrong one${KEY.enter}`);
  await answer(s, /try 2 of 3/, `wrong two${KEY.enter}`);
  await answer(s, /try 3 of 3/, `wrong three${KEY.enter}`);
  assert.equal(await s.exited, 1);
  const screen = screenText(s.output());
  assert.match(screen, /error: wrong CA passphrase/);
  assert.doesNotMatch(screen, /Device name/, 'no question was answered for nothing');
  assert.deepEqual(JSON.parse(ca.ok(['list', '--json', '--all']).stdout), []);
});

test('enroll -q: the generated password alone on stdout; the prompts stay on the terminal', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const stdoutFile = join(ca.dir, 'stdout');
  const s = ptyForTest(t, ['enroll', '--home', ca.home, '-q'], { cwd: ca.out, env: { POCKETCA_PASSPHRASE: PASSPHRASE }, stdoutFile });
  await answer(s, /Device name/, `dan-pixel${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, `${KEY.down}${KEY.enter}`); // Android
  await answer(s, /Where to write the files\?/, KEY.enter);
  await answer(s, /Share dan-pixel\.p12 now/, `n${KEY.enter}`);
  assert.equal(await s.exited, 0, screenText(s.output()));
  const stdout = readFileSync(stdoutFile, 'utf8');
  const [, password] = /^([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})\n$/.exec(stdout) ?? [];
  assert.ok(password, `stdout is the password alone: ${JSON.stringify(stdout)}`);
  assert.doesNotMatch(screenText(s.output()), /Enrolling a device|issuing a client/, 'no progress with -q');
  checkIdentity(ca, join(ca.out, 'dan-pixel.p12'), password!, 'dan-pixel');
});

test('enroll: Ctrl-C at a prompt cancels with exit 130 (as a shell reports Ctrl-C), nothing issued', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = enroll(t, ca, [], { POCKETCA_PASSPHRASE: PASSPHRASE });
  await answer(s, /Device name/, `dave${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, KEY.ctrlC);
  assert.equal(await s.exited, 130);
  const screen = screenText(s.output());
  assert.match(screen, /error: cancelled at the prompt/);
  assert.doesNotMatch(screen, /internal error/);
  assert.deepEqual(JSON.parse(ca.ok(['list', '--json', '--all']).stdout), []);
});

test('enroll without a terminal: exit 2 with a hint to use issue', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const r = ca.run(['enroll'], { input: 'alice-iphone\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /error: enroll asks questions and needs a terminal/);
  assert.match(r.stderr, /hint: .*pocketca issue NAME/);
  assert.equal(r.stdout, '');
});
