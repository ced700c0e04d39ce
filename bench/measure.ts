/**
 * Timing whole processes as users run them. Each contender's commands are
 * spawned with spawnSync and timed by the wall clock around them; the
 * contenders of one scenario take turns within every run (the order rotates
 * from run to run), so a slow moment of the machine falls on all of them
 * and the ratio is taken pair by pair, run by run.
 *
 * Peak memory comes from GNU time (`/usr/bin/time -f %M -o FILE`): it reads
 * the child's ru_maxrss from wait4(), so the number is exact for the process
 * it wraps and costs nothing to sample. Polling /proc/<pid>/status (VmHWM)
 * misses the last milliseconds of a short process, and
 * `process.resourceUsage()` inside a wrapper would only see the wrapper. When
 * /usr/bin/time is missing, memory is reported as not measured.
 */
import { spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** GNU time (Debian package `time`); GNU_TIME_BIN points elsewhere. */
export const GNU_TIME = process.env.GNU_TIME_BIN ?? '/usr/bin/time';
export const canMeasureMemory = (): boolean => existsSync(GNU_TIME);

export interface Step {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout goes: a file path, else discarded. */
  stdoutFile?: string;
  /** Bytes on stdin; default none. */
  input?: string;
}

export interface Contender {
  label: string;
  /** The commands of one run, timed together; `run` is unique per run (names, serials). */
  steps: (run: number) => Step[];
  /** Untimed preparation before each run (copying a request in place). */
  prepare?: (run: number) => void;
}

export interface Samples {
  /** Wall milliseconds per run, in run order. */
  wallMs: number[];
  /** Peak resident set in KiB per run (the largest of the run's steps), when measured. */
  peakKib: number[];
}

export class StepFailedError extends Error {}

/** Run one step; returns wall milliseconds and, with `memoryFile`, the peak RSS in KiB. */
function runStep(step: Step, memoryFile: string | undefined): { ms: number; kib?: number } {
  const [command, args] = memoryFile ? [GNU_TIME, ['-f', '%M', '-o', memoryFile, step.command, ...step.args]] : [step.command, step.args];
  const out = step.stdoutFile ? openSync(step.stdoutFile, 'w') : 'ignore';
  const stdio: StdioOptions = [step.input === undefined ? 'ignore' : 'pipe', out, 'pipe'];
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: step.cwd, env: step.env ?? process.env, stdio, input: step.input, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (typeof out === 'number') closeSync(out);
  if (result.error || result.status !== 0) {
    const stderr = result.stderr?.toString().trim().split('\n').slice(-5).join('\n');
    throw new StepFailedError(`${step.command} ${step.args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})\n${stderr}`);
  }
  let kib: number | undefined;
  if (memoryFile) {
    // GNU time writes "Command exited ..." lines first when the command fails; the last line is %M.
    kib = Number(readFileSync(memoryFile, 'utf8').trim().split('\n').pop());
    rmSync(memoryFile, { force: true });
  }
  return { ms, kib };
}

export interface MeasureOptions {
  runs: number;
  /** Untimed runs first (page cache, lazy files); default 1. */
  warmup?: number;
  /** Wrap every step in GNU time for the peak memory; default false. */
  memory?: boolean;
  /** Scratch directory for GNU time's output. */
  scratch: string;
}

/** Interleaved runs of every contender; the first `warmup` runs are not kept. */
export function measure(contenders: readonly Contender[], options: MeasureOptions): Map<string, Samples> {
  const samples = new Map(contenders.map((c) => [c.label, { wallMs: [], peakKib: [] } as Samples]));
  const memoryFile = options.memory && canMeasureMemory() ? join(options.scratch, 'peak-rss.txt') : undefined;
  const warmup = options.warmup ?? 1;
  for (let run = 0; run < warmup + options.runs; run++) {
    const order = contenders.map((_, i) => contenders[(i + run) % contenders.length]!);
    for (const contender of order) {
      contender.prepare?.(run);
      let ms = 0;
      let kib = 0;
      for (const step of contender.steps(run)) {
        const r = runStep(step, memoryFile);
        ms += r.ms;
        kib = Math.max(kib, r.kib ?? 0);
      }
      if (run < warmup) continue;
      const s = samples.get(contender.label)!;
      s.wallMs.push(ms);
      if (memoryFile) s.peakKib.push(kib);
    }
  }
  return samples;
}

/** Run a command once, untimed, for set-up; throws with its stderr when it fails. */
export function runOnce(step: Step): string {
  const result = spawnSync(step.command, step.args, { cwd: step.cwd, env: step.env ?? process.env, input: step.input ?? '', encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error || result.status !== 0) {
    throw new StepFailedError(`${step.command} ${step.args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})\n${result.stderr}`);
  }
  return result.stdout;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile by nearest rank (q in 0..1). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of a[i] / b[i]: runs i of the two were taken back to back. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}
