/**
 * `pocketca qr`: the PNG decodes back to the exact URL with a real decoder
 * (zbarimg, Debian's zbar-tools). zbarimg reads images through ImageMagick,
 * which reads SVG only with an optional delegate; so the SVG is parsed by
 * Python's XML parser (well-formed, an <svg> root with a viewBox), its
 * drawing is rasterised here to a PGM, and zbarimg decodes that.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pocketca, tempDir, tool } from '../helpers/cli';
import { decodeGrid, halfBlocksToGrid, zbar, type ModuleGrid } from '../helpers/qr';
import { requireTool } from '../helpers/tools';
import { runInPty, screenText } from '../helpers/pty';

const URLS = [
  'http://192.168.1.23:41234/qK3v_x-9ZbYtR2mNpLw8sHc4',
  'https://cloud.home.arpa/index.php/apps/files?dir=/Photos&view=grid#top',
  'https://example.org/' + 'a'.repeat(300),
];

function workDir(t: TestContext): string {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Rasterise the SVG that `qr --svg` writes: a viewBox of N x N modules, a
 * white background path and one dark path of horizontal runs ("M x y" starts
 * a row at the middle of a module, "m dx dy" moves, "h n" draws n modules).
 * Any other drawing command fails the test rather than being guessed at.
 */
function svgToGrid(svg: string): ModuleGrid {
  const size = Number(/viewBox="0 0 (\d+) (\d+)"/.exec(svg)?.[1]);
  assert.ok(size > 20, 'a viewBox in modules');
  const dark = /<path[^>]*stroke="#000000"[^>]*\sd="([^"]+)"/.exec(svg)?.[1];
  assert.ok(dark, 'a dark path');
  const grid: ModuleGrid = Array.from({ length: size }, () => Array<boolean>(size).fill(false));
  let x = 0;
  let y = 0;
  const commands = dark.match(/[A-Za-z][^A-Za-z]*/g)!;
  for (const command of commands) {
    const [op, ...args] = [command[0]!, ...command.slice(1).trim().split(/[\s,]+/).filter(Boolean).map(Number)];
    if (op === 'M') [x, y] = [args[0]!, args[1]!];
    else if (op === 'm') [x, y] = [x + args[0]!, y + args[1]!];
    else if (op === 'h') {
      for (let i = 0; i < args[0]!; i++) grid[Math.floor(y)]![x + i] = true;
      x += args[0]!;
    } else assert.fail(`unexpected SVG path command ${op}`);
  }
  return grid;
}

test('qr --png decodes back to the exact URL with zbarimg', (t) => {
  if (!requireTool(t, 'zbarimg')) return;
  const dir = workDir(t);
  for (const [i, url] of URLS.entries()) {
    const png = join(dir, `code-${i}.png`);
    const r = pocketca(['qr', url, '--png', png]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote PNG /);
    assert.ok(readFileSync(png).subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')), 'a PNG signature');
    assert.equal(statSync(png).mode & 0o777, 0o644);
    assert.equal(zbar(png), url + '\n');
  }
});

test('qr --svg is well-formed XML whose drawing decodes to the exact URL', (t) => {
  if (!requireTool(t, 'zbarimg')) return;
  const dir = workDir(t);
  const url = URLS[1]!;
  const svg = join(dir, 'code.svg');
  const png = join(dir, 'code.png');
  const r = pocketca(['qr', url, '--svg', svg, '--png', png, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.deepEqual(json.files, { png, svg });
  assert.equal(json.url, url);
  const parsed = tool('python3', ['-c', 'import sys, xml.etree.ElementTree as E; root = E.parse(sys.argv[1]).getroot(); print(root.tag, root.get("viewBox"))', svg]);
  assert.equal(parsed.code, 0, `python's XML parser rejects the SVG: ${parsed.stderr}`);
  assert.match(parsed.stdout, /^\{http:\/\/www\.w3\.org\/2000\/svg\}svg 0 0 \d+ \d+\n$/);
  assert.equal(decodeGrid(svgToGrid(readFileSync(svg, 'utf8')), join(dir, 'from-svg.pgm')), url + '\n');
  assert.equal(zbar(png), url + '\n', 'the PNG written in the same run too');
  // Where ImageMagick can read SVG itself, the file decodes directly as well.
  const direct = tool('zbarimg', ['--raw', '-q', svg]);
  if (direct.code === 0) assert.equal(direct.stdout, url + '\n');
});

test('qr prints a compact terminal code: two modules per line, black on white, that zbarimg reads', (t) => {
  const r = pocketca(['qr', URLS[0]!]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  // A version-3 symbol is 29 modules: (29 + 2 border) / 2 rows of text, 29 + 2 columns.
  const visible = lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
  assert.ok(lines.length >= 15 && lines.length <= 20, `${lines.length} lines`);
  assert.ok(visible.every((l) => l.length === visible[0]!.length), 'a rectangle');
  assert.match(r.stdout, /\u001b\[47m\u001b\[30m/, 'black on a white background');
  assert.ok(visible.join('').includes('▄') && visible.join('').includes('▀'), 'half blocks');
  if (!requireTool(t, 'zbarimg')) return;
  const dir = workDir(t);
  assert.equal(decodeGrid(halfBlocksToGrid(visible), join(dir, 'terminal.pgm')), URLS[0] + '\n', 'zbarimg reads the terminal code');
});

test('qr refuses invalid and oversized input with exit 2', (t) => {
  const dir = workDir(t);
  const cases: [string[], RegExp][] = [
    [['qr', ''], /error: the URL is empty/],
    [['qr', 'not a url'], /error: the URL contains whitespace/],
    [['qr', 'cloud.home.arpa/login'], /error: not a URL/],
    [['qr', '192.168.1.10:8080'], /error: not a URL/],
    [['qr', 'https://example.org/\u0007bell'], /error: the URL contains whitespace or control characters/],
    [['qr', 'https://example.org/' + 'x'.repeat(3000)], /error: the URL is 3020 bytes; .* at most 2048/],
    [['qr', 'https://example.org/', '--png', join(dir, 'no', 'such', 'dir.png')], /error: --png: cannot write .*: directory .* does not exist/],
    [['qr', 'https://example.org/', '--svg', dir], /error: --svg: .* is a directory/],
    [['qr'], /missing required argument/],
  ];
  for (const [args, words] of cases) {
    const r = pocketca(args);
    assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`);
    assert.match(r.stderr, words, JSON.stringify(args));
    assert.equal(r.stdout, '');
  }
});

test('qr of a host name without a scheme: "not a URL", and the hint names the https:// URL', () => {
  for (const [typed, suggested] of [
    ['cloud.home.arpa', 'https://cloud.home.arpa'],
    ['192.168.1.10:8443/admin', 'https://192.168.1.10:8443/admin'],
  ]) {
    const r = pocketca(['qr', typed]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `error: not a URL: "${typed}"\nhint: a phone opens a web address with its scheme: pocketca qr ${suggested}\n`);
    // The suggestion works.
    assert.equal(pocketca(['qr', suggested]).code, 0);
  }
  const spaced = pocketca(['qr', 'not a host']);
  assert.equal(spaced.code, 2);
  assert.doesNotMatch(spaced.stderr, /hint: .*https:/, 'no suggestion for what is not a host name');
});

test('qr --png - refuses a terminal as stdout (binary would garble it) before writing a byte; piped, it writes the PNG', async () => {
  const s = runInPty(['qr', 'https://cloud.home.arpa/', '--png', '-']);
  assert.equal(await s.exited, 2, s.output());
  assert.match(screenText(s.output()), /error: --png -: a PNG image is binary: stdout is a terminal/);
  assert.doesNotMatch(s.output(), /PNG\r?\n/, 'no PNG bytes on the terminal');
  const piped = pocketca(['qr', 'https://cloud.home.arpa/', '--png', '-']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.ok(piped.stdout.startsWith('\ufffdPNG'), 'the PNG on a pipe');
});
