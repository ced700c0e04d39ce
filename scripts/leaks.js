#!/usr/bin/env node
// Run `node --test` with the given arguments, then report every process the
// tests left running (a tmux server, a share, an nginx...) and stop it.
//   node scripts/leaks.js dist/test/e2e/screen-80x24.test.js
//   node scripts/leaks.js --test-concurrency=2 dist/test/      (what `npm test` runs)
// The tests run with POCKETCA_TEST_RUN set to a random mark in their
// environment: everything they start inherits it (tmux servers take their
// first client's), so a leftover is found by it even among other people's
// processes on the machine. (Not a TMPDIR of its own: longer paths would
// change what the tests see at a terminal's width.)
// Exit status: the tests', or 1 when they passed but left processes behind.
'use strict';
const { spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { readdirSync, readFileSync } = require('node:fs');

const mark = randomBytes(12).toString('hex');

/** Processes (other than this one) that carry the mark in their environment. */
function marked() {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/.test(stat)) continue; // a zombie has ended; its parent has yet to reap it
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`POCKETCA_TEST_RUN=${mark}\0`)) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        found.push({ pid, command: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 200) });
      }
    } catch {
      // Ended while we looked, or not ours to read.
    }
  }
  return found;
}

const run = spawnSync(process.execPath, ['--test', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, POCKETCA_TEST_RUN: mark } });
let left = marked();
// A server told to stop may take a moment to go.
for (const end = Date.now() + 3000; left.length > 0 && Date.now() < end; left = marked()) spawnSync('sleep', ['0.1']);
for (const p of left) {
  process.stderr.write(`leaks: the tests left process ${p.pid} running: ${p.command}\n`);
  try {
    process.kill(p.pid, 'SIGKILL');
  } catch {}
}
if (left.length > 0) process.stderr.write(`leaks: ${left.length} process${left.length === 1 ? '' : 'es'} left behind (stopped now); a test must stop what it starts, also when it fails (t.after)\n`);
process.exitCode = run.status !== 0 ? (run.status ?? 1) : left.length > 0 ? 1 : 0;
