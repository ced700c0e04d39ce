/**
 * src/cli/layout.ts: where lines break at a given width. The end-to-end
 * screens (test/e2e/screen-80x24.test.ts) check the real commands in a real
 * terminal; these pin the rules a person relies on when reading or copying.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fields, fitTable, fitText, visibleWidth, widthOf, wrapLine } from '../../src/cli/layout';

const FP = 'DA:E3:D6:C0:6E:D4:3D:98:D7:72:54:4E:0E:BD:D8:40:04:DA:58:AC:1B:D6:C0:AE:4E:65:34:D4:56:CD:70:F4';

test('no width (a pipe): nothing is wrapped', () => {
  const long = 'word '.repeat(60).trim();
  assert.equal(fitText(long, undefined), long);
  assert.equal(widthOf({ isTTY: false, columns: 40 }), undefined);
  assert.equal(widthOf({ isTTY: true, columns: 0 }), 80, 'a terminal that does not say is taken as 80 columns');
  assert.equal(widthOf({ isTTY: true, columns: 132 }), 132);
});

test('prose wraps at spaces, never inside a word, and every line fits', () => {
  const text = 'On the iPhone or iPad: turn on full trust for the root certificate in Settings > General > About > Certificate Trust Settings.';
  const lines = wrapLine(text, 40);
  assert.ok(lines.every((l) => visibleWidth(l) <= 40), lines.join('\n'));
  assert.equal(lines.join(' '), text, 'only spaces were turned into line breaks');
});

test('a label  value line continues under the value; a fingerprint breaks at colons in equal halves', () => {
  const [line] = fields([['SHA-256', FP]], '  ');
  const lines = wrapLine(line!, 80);
  assert.deepEqual(lines, [`  SHA-256  ${FP.slice(0, 48)}`, `           ${FP.slice(48)}`]);
  assert.equal(lines.map((l) => l.trim().replace(/^SHA-256 +/, '')).join(''), FP);
});

test('a list item and error:/hint: lines hang after their marker', () => {
  const item = wrapLine('  1. Scan the QR code with the Camera app and open the link in Safari (other browsers cannot install profiles).', 50);
  assert.ok(item.slice(1).every((l) => l.startsWith('     ') && l[5] !== ' '), item.join('\n'));
  const hint = wrapLine('hint: pocketca renew alice-iphone makes its new certificate and revokes the old one; --force issues another', 60);
  assert.ok(hint.slice(1).every((l) => /^ {6}\S/.test(l)), hint.join('\n'));
});

test('a URL is never broken: it moves to its own line, whole, from the first column if need be', () => {
  const url = 'http://192.168.1.23:41234/qK3v_x-9ZbYtR2mNpLw8sHc4';
  const lines = wrapLine(`  open ${url} on the phone`, 40);
  assert.ok(lines.includes(url), lines.join('\n'));
  const long = `https://cloud.home.arpa/${'a'.repeat(80)}`;
  assert.ok(wrapLine(`see ${long}`, 40).includes(long), 'a URL longer than the line stays whole');
});

test('a path breaks after a slash', () => {
  const path = '/home/someone/a-rather-long-directory-name/another-long-directory/alice-iphone.mobileconfig';
  const lines = wrapLine(`  mobileconfig  ${path}`, 60);
  assert.ok(lines.every((l) => visibleWidth(l) <= 60), lines.join('\n'));
  assert.ok(lines.slice(0, -1).every((l) => l.endsWith('/')), lines.join('\n'));
  assert.equal(lines.map((l) => l.trim()).join('').replace(/^mobileconfig +/, ''), path);
});

test('colour sequences take no columns', () => {
  const painted = `\u001b[32mok\u001b[0m    crl   ${'x '.repeat(30)}`;
  assert.ok(wrapLine(painted, 40).every((l) => visibleWidth(l) <= 40));
});

test('a table fits by its steps: a column dropped, one shortened to a prefix with …; a pipe gets every cell', () => {
  const serial = '78dc0d9f20cc6baa8cf8375d1ae1e621';
  const spec = {
    header: ['SERIAL', 'NAME', 'STATUS', 'SUBJECT'],
    rows: [[serial, 'carol-iphone', 'valid', 'CN=carol-iphone, O=Home, OU=Phones']],
    steps: [{ drop: 'SUBJECT' }, { shorten: 'SERIAL', to: 13 }],
  };
  const fitted = fitTable(spec, 40);
  assert.deepEqual(fitted, ['SERIAL         NAME          STATUS', '78dc0d9f20cc…  carol-iphone  valid']);
  const piped = fitTable(spec, undefined);
  assert.ok(piped[1]!.includes(serial) && piped[1]!.includes('OU=Phones'));
});

test('a table whose last column wraps hangs it under itself', () => {
  const lines = fitTable({ header: ['A', 'B'], rows: [['ok', 'a message long enough to need two lines at this width']], wrapLast: 10, showHeader: false }, 30);
  assert.ok(lines.length > 1 && lines.slice(1).every((l) => /^ {4}\S/.test(l)), lines.join('\n'));
});

test('commands print only through Output, which fits every line: no command writes to the terminal itself', () => {
  const { readdirSync, readFileSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const dir = join(__dirname, '..', '..', '..', 'src', 'cli', 'commands');
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .map((line, i) => ({ where: `${f}:${i + 1}`, line }))
        .filter(({ line }) => /process\.std(out|err)\.write|console\.(log|error|warn)/.test(line)),
    );
  assert.deepEqual(offenders, [], 'use out.result / report / note / warn / tell / data (src/cli/output.ts)');
});
