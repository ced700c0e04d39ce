#!/usr/bin/env node
// Soak `pocketca issue --batch` (issue 16, item 11): run many batches of the
// benchmark's shape (100 P-256 identities, generated passwords, -q --key-type
// ec --passphrase-file F) back to back while busy loops load the other cores,
// and report every run that fails or outlives a deadline, with its state.
// Not part of `npm test`: it runs for minutes. Build first (npx tsc -p
// tsconfig.json), then:
//
//   SOAK_SECONDS=600 node scripts/soak-batch.js
//
// SOAK_SECONDS   how long to keep starting batches (default 600)
// SOAK_RUNS      stop after this many batches (default: no limit)
// SOAK_SIZE      names per batch (default 100)
// SOAK_DEADLINE  seconds a batch may take before it counts as stalled (default 60)
// SOAK_LOAD      busy loops started beside the batches (default: cores - 1, at least 1)
// SOAK_KEEP      keep the workspace at the end (default: only when a run failed)
// SOAK_ARGS      extra arguments for every batch (e.g. "--key-type rsa")
// SOAK_CPUS      run each batch on these CPUs only (taskset -c LIST, e.g. 0): its threads then take turns
//
// A stalled run gets SIGUSR2 (a Node diagnostic report: JS stack, native
// stack, libuv handles, worker threads) and its threads' kernel states from
// /proc, then SIGKILL. Exit 0 when every run finished in time with exit 0.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } = require('node:fs');
const { availableParallelism, tmpdir } = require('node:os');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'pocketca');
const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
const seconds = env('SOAK_SECONDS', 600);
const maxRuns = env('SOAK_RUNS', Infinity);
const size = env('SOAK_SIZE', 100);
const deadlineMs = env('SOAK_DEADLINE', 60) * 1000;
const loadCount = env('SOAK_LOAD', Math.max(1, availableParallelism() - 1));
const extra = (process.env.SOAK_ARGS ?? '').split(/\s+/).filter(Boolean);
const cpus = process.env.SOAK_CPUS;

if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'start.js'))) {
  process.stderr.write('soak-batch: build first: npx tsc -p tsconfig.json\n');
  process.exit(2);
}

const ws = mkdtempSync(join(tmpdir(), 'pocketca-soak-'));
const home = join(ws, 'home');
const passFile = join(ws, 'passphrase');
writeFileSync(passFile, 'correct horse battery staple\n', { mode: 0o600 });
const log = (line) => process.stderr.write(`soak-batch: ${line}\n`);

// The benchmark's CA: RSA-3072 (bench/fixtures.ts).
const init = spawnSync(process.execPath, [BIN, 'init', '--home', home, '--passphrase-file', passFile, '--key-size', '3072'], { encoding: 'utf8' });
if (init.status !== 0) {
  log(`init failed: ${init.stderr}`);
  process.exit(1);
}

// Busy loops for the other cores (each killed by its own pid at the end).
const load = Array.from({ length: loadCount }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopLoad = () => {
  for (const child of load) if (child.exitCode === null) child.kill('SIGKILL');
};
process.on('exit', stopLoad);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** What the kernel says each thread of `pid` is doing: name, state, wait channel. */
function threadStates(pid) {
  const lines = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const read = (f) => {
        try {
          return readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
        } catch {
          return '?';
        }
      };
      const state = /^State:\s*(.*)$/m.exec(read('status'))?.[1] ?? '?';
      lines.push(`  thread ${tid} ${read('comm')}: ${state}, wchan ${read('wchan')}`);
    }
  } catch (error) {
    lines.push(`  /proc/${pid}: ${error.message}`);
  }
  return lines.join('\n');
}

const listing = (dir) => {
  try {
    return readdirSync(dir)
      .sort()
      .map((f) => `  ${f} (${statSync(join(dir, f)).size} bytes)`)
      .join('\n');
  } catch (error) {
    return `  ${error.message}`;
  }
};

/** One batch; resolves with its outcome once it ended (or was killed past the deadline). */
function runBatch(run) {
  const dir = join(ws, `run-${run}`);
  mkdirSync(dir);
  const names = Array.from({ length: size }, (_, i) => `r${run}-d${String(i + 1).padStart(3, '0')}`);
  const namesFile = join(dir, 'names.txt');
  writeFileSync(namesFile, names.join('\n') + '\n');
  const out = join(dir, 'out');
  const reports = join(dir, 'reports');
  mkdirSync(reports);
  const args = ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reports}`, BIN, 'issue', '--batch', namesFile,
    '--home', home, '--passphrase-file', passFile, '--out-dir', out, '-q', '--key-type', 'ec', ...extra];
  const started = Date.now();
  return new Promise((resolve) => {
    const [command, argv] = cpus ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let stalled;
    const timer = setTimeout(() => {
      stalled = { threads: threadStates(child.pid), files: listing(out) };
      child.kill('SIGUSR2');
      setTimeout(() => child.kill('SIGKILL'), 3000);
    }, deadlineMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ run, dir, out, reports, ms: Date.now() - started, code, signal, stdout, stderr, stalled });
    });
  });
}

async function main() {
  const endAt = Date.now() + seconds * 1000;
  const durations = [];
  const bad = [];
  let run = 0;
  log(`workspace ${ws}; ${size} names a batch, deadline ${deadlineMs / 1000} s, ${loadCount} busy loop(s), for ${seconds} s`);
  while (Date.now() < endAt && run < maxRuns) {
    run += 1;
    const r = await runBatch(run);
    durations.push(r.ms);
    const failed = r.stalled || r.code !== 0;
    if (failed) {
      bad.push(r);
      log(`run ${run}: ${r.stalled ? `STALLED past ${deadlineMs / 1000} s` : `exit ${r.code ?? r.signal}`} after ${r.ms} ms`);
      if (r.stderr) log(`  stderr: ${r.stderr.trim().split('\n').join('\n  ')}`);
      if (r.stalled) {
        log(`  threads at the deadline:\n${r.stalled.threads}`);
        log(`  files at the deadline (${r.out}):\n${r.stalled.files}`);
      } else {
        log(`  files (${r.out}):\n${listing(r.out)}`);
      }
      const reportFiles = existsSync(r.reports) ? readdirSync(r.reports) : [];
      if (reportFiles.length) log(`  diagnostic report: ${join(r.reports, reportFiles[0])}`);
    } else {
      rmSync(r.dir, { recursive: true, force: true });
    }
    if (run % 10 === 0) log(`${run} batches, ${bad.length} bad, last ${r.ms} ms`);
  }
  stopLoad();
  const sorted = [...durations].sort((a, b) => a - b);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  const summary = {
    batches: run,
    stalled: bad.filter((r) => r.stalled).length,
    failed: bad.filter((r) => !r.stalled).length,
    medianMs: pct(50),
    p99Ms: pct(99),
    maxMs: sorted[sorted.length - 1],
    badRuns: bad.map((r) => ({ run: r.run, ms: r.ms, code: r.code, signal: r.signal, stalled: Boolean(r.stalled), dir: r.dir })),
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  if (bad.length === 0 && !process.env.SOAK_KEEP) rmSync(ws, { recursive: true, force: true });
  else log(`workspace kept: ${ws}`);
  process.exitCode = bad.length === 0 ? 0 : 1;
}

main().catch((error) => {
  log(error.stack);
  process.exitCode = 1;
});
