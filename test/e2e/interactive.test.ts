/**
 * Issue 20 at a real terminal (a pty, test/helpers/pty.ts): paths typed at a
 * prompt expand ~, a prompt's default is an answer the command accepts,
 * enroll follows issue's rule for a name in use, a wrong passphrase is not
 * marked as accepted, and Ctrl-C during share, enroll or scep says what was
 * done and the command that continues, exit 130.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, PASSPHRASE, type TestCa } from '../helpers/cli';
import { KEY, ptyForTest, screenText, type PtySession } from '../helpers/pty';
import { requireTool } from '../helpers/tools';

const URL = /http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{24}/;

/** The screen's text with its lines joined by one space: a message wrapped to the terminal's width reads as one line again. */
const flat = (s: PtySession): string => screenText(s.output()).replace(/[ \t]*\n\s*/g, ' ');

async function answer(s: PtySession, prompt: RegExp, keys: string): Promise<void> {
  await s.waitFor(prompt, 30_000);
  s.type(keys);
}

/** A home directory of the test's own, for ~. */
function userHome(ca: TestCa): string {
  const home = join(ca.dir, 'user');
  mkdirSync(home);
  return home;
}

const names = (ca: TestCa): string[] => (JSON.parse(ca.ok(['list', '--all', '--json']).stdout) as { name: string }[]).map((c) => c.name);

function enroll(t: TestContext, ca: TestCa, cwd: string, env: Record<string, string>, args: string[] = []): PtySession {
  return ptyForTest(t, ['enroll', '--home', ca.home, '--bind', '127.0.0.1', '--ttl', '60s', ...args], { cwd, env });
}

test('enroll: ~/phones typed at the directory prompt is under the home directory, not a directory named ~', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const home = userHome(ca);
  const s = enroll(t, ca, ca.out, { POCKETCA_PASSPHRASE: PASSPHRASE, HOME: home });
  await answer(s, /Device name/, `bob-pixel${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, `${KEY.down}${KEY.enter}`);
  await s.waitFor(/Where to write the files\?/);
  s.type(`${KEY.ctrlU}~/phones${KEY.enter}`);
  await answer(s, new RegExp(`${home}/phones does not exist\\. Create it \\(mode 0700\\)\\?`), `y${KEY.enter}`);
  await answer(s, /Share bob-pixel\.p12 now/, `n${KEY.enter}`);
  assert.equal(await s.exited, 0, screenText(s.output()));
  assert.ok(existsSync(join(home, 'phones', 'bob-pixel.p12')), 'the files are in ~/phones');
  assert.ok(!existsSync(join(ca.out, '~')), 'no directory named ~');
});

test('enroll run from inside the CA home: the directory it offers is one it accepts', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const home = userHome(ca);
  const s = enroll(t, ca, ca.home, { POCKETCA_PASSPHRASE: PASSPHRASE, HOME: home });
  await answer(s, /Device name/, `carol-laptop${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, `${KEY.down}${KEY.down}${KEY.enter}`);
  // The CA home is refused by the output rule: the default is the home directory instead.
  await answer(s, /Where to write the files\? \(~\)/, KEY.enter);
  await answer(s, /Share carol-laptop\.p12 now/, `n${KEY.enter}`);
  assert.equal(await s.exited, 0, screenText(s.output()));
  assert.doesNotMatch(screenText(s.output()), /inside the CA home/, 'the default was not refused');
  assert.ok(existsSync(join(home, 'carol-laptop.p12')));
});

test('enroll: a name with a valid certificate is refused as issue refuses it (renew NAME); a wrong passphrase is not marked accepted', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  const s = enroll(t, ca, ca.out, {});
  await answer(s, /CA passphrase:/, `not the passphrase${KEY.enter}`);
  await answer(s, /Wrong passphrase\. CA passphrase \(try 2 of 3\):/, `${PASSPHRASE}${KEY.enter}`);
  await s.waitFor(/Device name/);
  const before = s.mark();
  s.type(`alice-iphone${KEY.enter}`);
  await s.waitFor(/alice-iphone already has a valid certificate: [0-9a-f]{32}, expires \d{4}-\d\d-\d\d:\s+pocketca\s+renew\s+alice-iphone\s+replaces\s+it/, 30_000, before);
  s.type(`${KEY.ctrlU}alice-ipad${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, KEY.ctrlC);
  assert.equal(await s.exited, 130, screenText(s.output()));
  assert.match(flat(s), /error: cancelled at the prompt; nothing more was done/);
  assert.doesNotMatch(screenText(s.output()), /✔[^\n]*passphrase/, 'no success mark next to a passphrase');
  assert.deepEqual(names(ca), ['alice-iphone'], 'nothing more issued');
});

test('Ctrl-C during share: the link closes, exit 130, and the command that shares the file again', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  const s = ptyForTest(t, ['share', 'alice-iphone.mobileconfig', '--home', ca.home, '--bind', '127.0.0.1', '--ttl', '60s'], { cwd: ca.out });
  await s.waitFor(URL);
  s.type(KEY.ctrlC);
  assert.equal(await s.exited, 130, screenText(s.output()));
  assert.match(flat(s), /error: interrupted: the link is closed after 0 of 1 allowed downloads of alice-iphone\.mobileconfig hint: to share it again: pocketca share alice-iphone\.mobileconfig $/);
});

test('Ctrl-C during enroll\'s share: what was issued and recorded, and pocketca share FILE, exit 130', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = enroll(t, ca, ca.out, { POCKETCA_PASSPHRASE: PASSPHRASE });
  await answer(s, /Device name/, `dave-iphone${KEY.enter}`);
  await answer(s, /What kind of device is it\?/, KEY.enter);
  await answer(s, /Where to write the files\?/, KEY.enter);
  await answer(s, /Share dave-iphone\.mobileconfig now/, KEY.enter);
  await s.waitFor(URL);
  s.type(KEY.ctrlC);
  assert.equal(await s.exited, 130, screenText(s.output()));
  const listed = JSON.parse(ca.ok(['list', '--json']).stdout) as { serial: string; name: string }[];
  assert.deepEqual(listed.map((c) => c.name), ['dave-iphone'], 'the certificate is recorded');
  assert.match(flat(s), new RegExp(`error: interrupted before the download: dave-iphone's certificate ${listed[0]!.serial} is issued and recorded, its files are in ${ca.out} \\(the PKCS#12 password is the one shown above\\) hint: to put it on the device later: pocketca share dave-iphone\\.mobileconfig $`));
  assert.ok(readdirSync(ca.out).includes('dave-iphone.mobileconfig'));
});

test('Ctrl-C during scep: the enrollment closes with nothing issued, and the command that starts it again, exit 130', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = ptyForTest(t, ['scep', 'erin-iphone', '--home', ca.home, '--bind', '127.0.0.1', '--ttl', '60s'], { cwd: ca.out, env: { POCKETCA_PASSPHRASE: PASSPHRASE } });
  await s.waitFor(URL);
  s.type(KEY.ctrlC);
  assert.equal(await s.exited, 130, screenText(s.output()));
  assert.match(flat(s), /error: interrupted: the enrollment is closed and nothing was issued; the challenge in \S+erin-iphone\.mobileconfig no longer works hint: to enroll erin-iphone again: pocketca scep erin-iphone $/);
  assert.deepEqual(names(ca), []);
});
