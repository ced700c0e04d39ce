/**
 * The CA passphrase at a terminal (issue 10), through a real pty: `init`
 * states the 8-character rule in its prompt and asks again on a short or
 * mismatched passphrase; a wrong passphrase when unlocking may be typed
 * three times (restore too, for the key in the backup); from a file it fails at once. The keys are opened with
 * openssl, the CRLs read back with openssl.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, PASSPHRASE, secretFile, tempDir, type TestCa } from '../helpers/cli';
import { KEY, ptyForTest, screenText, type PtySession } from '../helpers/pty';
import { requireTool } from '../helpers/tools';

function atTerminal(t: TestContext, args: string[], cwd?: string): PtySession {
  return ptyForTest(t, args, { cwd });
}

/** Type `keys` once `prompt` shows after `from` (a mark taken before the previous keys were typed). */
async function answer(s: PtySession, prompt: RegExp, keys: string, from = 0): Promise<number> {
  await s.waitFor(prompt, 30_000, from);
  const mark = s.mark();
  s.type(keys);
  return mark;
}

const opensWith = (dir: string, key: string, passphrase: string): boolean =>
  openssl(['pkey', '-in', key, '-passin', `file:${secretFile(dir, `try-${passphrase.length}-${Date.now()}`, passphrase)}`, '-noout']).code === 0;

const crlNumber = (ca: TestCa): number => Number(/CRL Number:\s+(\d+)/.exec(openssl(['crl', '-in', join(ca.home, 'crl.pem'), '-noout', '-text']).stdout)![1]);
const refusals = (ca: TestCa): number => (JSON.parse(ca.ok(['log', '--json']).stdout) as { outcome: string }[]).filter((e) => e.outcome === 'refused').length;

test('init at a terminal: the 8-character rule in the prompt; a short passphrase and a mismatched repeat are asked again', async (t) => {
  if (!requireTool(t, 'script')) return;
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  const s = atTerminal(t, ['init', '--home', home, '--key-size', '2048']);
  let mark = await answer(s, /New CA passphrase \(at least 8 characters\):/, `short${KEY.enter}`);
  await s.waitFor(/must be at least 8 characters/, 30_000, mark);
  s.type(`${KEY.ctrlU}the first long one${KEY.enter}`);
  mark = await answer(s, /Repeat the CA passphrase:/, `not the same at all${KEY.enter}`);
  mark = await answer(s, /differ[^\n]*\n[\s\S]*New CA passphrase \(at least 8 characters\):/, `the final passphrase${KEY.enter}`, mark);
  await answer(s, /Repeat the CA passphrase:/, `the final passphrase${KEY.enter}`, mark);
  await s.waitFor(/created CA "CN=pocketca Root CA"/, 60_000);
  assert.equal(await s.exited, 0, screenText(s.output()));
  const key = join(home, 'ca.key.pem');
  assert.ok(opensWith(dir, key, 'the final passphrase'), 'openssl opens the key with the passphrase typed last');
  assert.ok(!opensWith(dir, key, 'the first long one'));
  assert.ok(!screenText(s.output()).includes('the final passphrase'), 'never echoed');
});

test('a wrong CA passphrase at a terminal is asked again: right at the second try signs the CRL', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = atTerminal(t, ['crl', '--home', ca.home], ca.out);
  const mark = await answer(s, /CA passphrase:/, `not it${KEY.enter}`);
  await answer(s, /Wrong passphrase\. CA passphrase \(try 2 of 3\):/, `${PASSPHRASE}${KEY.enter}`, mark);
  await s.waitFor(/signed CRL number 2/);
  assert.equal(await s.exited, 0, screenText(s.output()));
  assert.equal(crlNumber(ca), 2, 'openssl reads the new CRL');
  assert.equal(refusals(ca), 1, 'the wrong try is recorded');
});

test('three wrong CA passphrases at a terminal: exit 1, wrong CA passphrase, nothing signed', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const s = atTerminal(t, ['crl', '--home', ca.home], ca.out);
  let mark = await answer(s, /CA passphrase:/, `one${KEY.enter}`);
  mark = await answer(s, /try 2 of 3/, `two${KEY.enter}`, mark);
  await answer(s, /try 3 of 3/, `three${KEY.enter}`, mark);
  assert.equal(await s.exited, 1);
  const screen = screenText(s.output());
  assert.match(screen, /error: wrong CA passphrase/);
  assert.doesNotMatch(screen, /try 4/);
  assert.equal(crlNumber(ca), 1);
  assert.equal(refusals(ca), 3);
});

test('a wrong passphrase from a file fails at once, even at a terminal: nothing to type again', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const wrong = secretFile(ca.dir, 'wrong', 'not the passphrase');
  const s = atTerminal(t, ['crl', '--home', ca.home, '--passphrase-file', wrong], ca.out);
  assert.equal(await s.exited, 1);
  const screen = screenText(s.output());
  assert.match(screen, /error: wrong CA passphrase/);
  assert.doesNotMatch(screen, /CA passphrase:/, 'no prompt');
  assert.equal(refusals(ca), 1);
});

test("restore at a terminal: a wrong passphrase for the backup's key is asked again, as for every command", async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const backup = join(ca.out, 'home.pocketca-backup');
  ca.ok(['backup', backup]);
  const home = join(ca.dir, 'restored');
  const s = atTerminal(t, ['restore', backup, '--home', home], ca.out);
  const mark = await answer(s, /CA passphrase:/, `not it${KEY.enter}`);
  await answer(s, /Wrong passphrase\. CA passphrase \(try 2 of 3\):/, `${PASSPHRASE}${KEY.enter}`, mark);
  await s.waitFor(/restored "CN=pocketca Root CA" into/);
  assert.equal(await s.exited, 0, screenText(s.output()));
  assert.equal(crlNumber({ ...ca, home }), 1, 'openssl reads the restored CRL');
  assert.ok(opensWith(ca.dir, join(home, 'ca.key.pem'), PASSPHRASE), 'openssl opens the restored key');
});

test('restore at a terminal: three wrong passphrases, exit 1, no home written', async (t) => {
  if (!requireTool(t, 'script')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const backup = join(ca.out, 'home.pocketca-backup');
  ca.ok(['backup', backup]);
  const home = join(ca.dir, 'restored');
  const s = atTerminal(t, ['restore', backup, '--home', home], ca.out);
  let mark = await answer(s, /CA passphrase:/, `one${KEY.enter}`);
  mark = await answer(s, /try 2 of 3/, `two${KEY.enter}`, mark);
  await answer(s, /try 3 of 3/, `three${KEY.enter}`, mark);
  assert.equal(await s.exited, 1);
  assert.match(screenText(s.output()), /error: wrong CA passphrase/);
  assert.equal(existsSync(home), false, 'nothing written');
});
