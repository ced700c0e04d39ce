#!/usr/bin/env node
// Run `node --test` with the given arguments, then report every process the
// tests left running (a tmux server, a share, an nginx...) and stop it.
//   node scripts/leaks.js dist/test/e2e/screen-80x24.test.js
//   node scripts/leaks.js --test-concurrency=2 dist/test/      (what `npm test` runs)
// The tests run with TMPDIR set to a fresh directory: everything they start
// inherits it, or runs in or names a directory under it, so a leftover is
// found by that mark even among other people's processes on the machine.
// Exit status: the tests', or 1 when they passed but left processes behind.
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const mark = mkdtempSync(join(tmpdir(), 'pocketca-leaks-'));

/** Processes (other than this one) that carry the mark: in their environment, command line or working directory. */
function marked() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/.test(stat)) continue; // a zombie has ended; its parent has yet to reap it
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {}
      if (environ.includes(`TMPDIR=${mark}\0`) || cmdline.includes(mark) || cwd.startsWith(mark)) {
        found.push({ pid, command: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 200) });
      }
    } catch {
      // Ended while we looked, or not ours to read.
    }
  }
  return found;
}

const run = spawnSync(process.execPath, ['--test', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, TMPDIR: mark } });
let left = marked();
// A server told to stop may take a moment to go.
for (const end = Date.now() + 3000; left.length > 0 && Date.now() < end; left = marked()) spawnSync('sleep', ['0.1']);
for (const p of left) {
  process.stderr.write(`leaks: the tests left process ${p.pid} running: ${p.command}\n`);
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {}
}
rmSync(mark, { recursive: true, force: true });
if (left.length > 0) process.stderr.write(`leaks: ${left.length} process${left.length === 1 ? '' : 'es'} left behind (stopped now); a test must stop what it starts, also when it fails (t.after)\n`);
process.exitCode = run.status !== 0 ? (run.status ?? 1) : left.length > 0 ? 1 : 0;
