/**
 * Issue 20, "one voice": option-parser errors in the error:/hint: form, bare
 * `pocketca` as the usage error it is, times a person waits for in ISO-8601
 * UTC with the local time, a server identity's next step named in server
 * words (and the command it names works), and `qr` honouring --no-color and
 * NO_COLOR while a plain pipe keeps the black-on-white code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, pocketca, pocketcaAsync, tempDir } from '../helpers/cli';
import { decodeGrid, halfBlocksToGrid } from '../helpers/qr';
import { requireTool } from '../helpers/tools';

test('option-parser errors use the error:/hint: form (no "(Did you mean ...)", no "(run with --help ...)"), exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['inti'], /^error: unknown command 'inti'\nhint: did you mean init\? \(pocketca --help shows the usage\)\n$/],
    [['issue', 'alice', '--nmae', 'x'], /^error: unknown option '--nmae'\nhint: pocketca issue --help shows the usage\n$/],
    [['init', '--key-size', '1024'], /^error: --key-size must be one of: 2048, 3072, 4096 \(got "1024"\)\nhint: pocketca init --help shows the usage\n$/],
    [['show'], /^error: missing required argument 'serial\|name'\nhint: pocketca show --help shows the usage\n$/],
  ];
  for (const [args, words] of cases) {
    const r = pocketca(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, words, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test('bare pocketca: the help on stderr (stdout carries results only) and exit 2, as any missing argument; --help is the success', () => {
  const bare = pocketca([]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, '');
  assert.match(bare.stderr, /^Usage: pocketca \[options\] \[command\]/);
  const help = pocketca(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: pocketca \[options\] \[command\]/);
});

test('share says when the link stops in ISO-8601 UTC with the local time a person waits for', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // The link expires after 1 s unused: exit 1, with the words said at the start.
  const r = await pocketcaAsync(['share', join(ca.home, 'ca.pem'), '--home', ca.home, '--bind', '127.0.0.1', '--ttl', '1s'], { env: { TZ: 'Asia/Kolkata' } });
  assert.equal(r.code, 1, r.stderr);
  const [, utc, local] = /The link works once and stops at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) \((\d\d:\d\d) local, in 1s\)\./.exec(r.stderr) ?? [];
  assert.ok(utc, r.stderr);
  // UTC+05:30, where the person is.
  const at = new Date(Date.parse(utc!) + 5.5 * 3_600_000);
  assert.equal(local, at.toISOString().slice(11, 16));
});

test('issue --profile server names the next step in server words: the pocketca proxy command, which works as printed', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const r = ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa']);
  assert.doesNotMatch(r.stderr, /pocketca share|the device has/);
  const [, command] = /^ {2}(pocketca proxy nginx --cert cloud\.pem --key cloud\.key\.pem \\\n {6}--upstream \S+ --out-dir \S+)$/m.exec(r.stderr) ?? [];
  assert.ok(command, r.stderr);
  const args = command!.replace(/\\\n/, ' ').split(/\s+/).slice(1);
  ca.ok(args);
});

test('qr: black on white into a pipe too (it scans when shown later); --no-color and NO_COLOR leave the colours out, and the code still decodes', (t) => {
  const url = 'https://cloud.home.arpa/';
  const coloured = pocketca(['qr', url]);
  assert.equal(coloured.code, 0, coloured.stderr);
  assert.match(coloured.stdout, /\u001b\[47m\u001b\[30m/);
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [label, r] of [
    ['--no-color', pocketca(['qr', url, '--no-color'])],
    ['NO_COLOR=1', pocketca(['qr', url], { env: { NO_COLOR: '1' } })],
  ] as const) {
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /\u001b/, label);
    if (requireTool(t, 'zbarimg')) {
      const lines = r.stdout.replace(/\n$/, '').split('\n');
      assert.equal(decodeGrid(halfBlocksToGrid(lines), join(dir, `${label.replace(/\W/g, '')}.pgm`)), url + '\n', label);
    }
  }
});
