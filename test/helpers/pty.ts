/**
 * Drive bin/pocketca through a pseudo-terminal, as a person at a keyboard
 * would: util-linux `script` gives the command a pty (so stdin.isTTY is true
 * and inquirer draws its prompts), and the test answers each prompt only
 * after its text has appeared, like someone reading the screen.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { TestContext } from 'node:test';
import { BIN, cleanEnv } from './cli';

/** Keys as a terminal sends them. */
export const KEY = { enter: '\r', down: '\u001b[B', up: '\u001b[A', ctrlU: '\u0015', ctrlC: '\u0003' };

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Terminal output without colours, cursor moves and line redraws: what a person reads. */
export function screenText(raw: string): string {
  return raw
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\u001b[()][A-Za-z0-9]/g, '')
    .replace(/\r/g, '');
}

export interface PtySession {
  child: ChildProcessWithoutNullStreams;
  /** Everything the terminal showed so far, raw. */
  output(): string;
  /** Wait until the screen text (after `from`, an offset into it) matches; returns the match. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>;
  /** Type `text` (no Enter added). */
  type(text: string): void;
  /** The screen text's current length, to wait for something after this point. */
  mark(): number;
  /** Resolves with the exit code when the command ends. */
  exited: Promise<number>;
  kill(): void;
}

/** `stdoutFile`: the command's stdout goes there instead of the terminal (stdin and stderr stay on it), to tell results from prompts. */
export function runInPty(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; stdoutFile?: string } = {}): PtySession {
  const redirect = opts.stdoutFile ? ` > ${shellQuote(opts.stdoutFile)}` : '';
  const command = `stty cols 120 rows 50; exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}${redirect}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: opts.cwd,
    env: { ...cleanEnv(opts.env), TERM: 'xterm-256color', SHELL: '/bin/sh' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    raw += d.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  exited.then(() => {
    for (const w of [...waiters]) w();
  });
  let done = false;
  exited.then(() => (done = true));

  const session: PtySession = {
    child,
    output: () => raw,
    mark: () => screenText(raw).length,
    waitFor(pattern, timeoutMs = 30_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = screenText(raw).slice(from).match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`the command ended before ${pattern} appeared; the screen:\n${screenText(raw)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; the screen:\n${screenText(raw)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    type(text) {
      child.stdin.write(text);
    },
    exited,
    kill() {
      if (!done) child.kill('SIGKILL');
    },
  };
  return session;
}

/** runInPty for one test: killed when the test ends, or after 90 s if the program hangs at a prompt. */
export function ptyForTest(t: TestContext, args: string[], opts: Parameters<typeof runInPty>[1] = {}): PtySession {
  const s = runInPty(args, opts);
  const killer = setTimeout(() => s.kill(), 90_000);
  t.after(() => {
    clearTimeout(killer);
    s.kill();
  });
  s.exited.then(() => clearTimeout(killer));
  return s;
}
