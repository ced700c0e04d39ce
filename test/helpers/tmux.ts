/**
 * A real terminal of a fixed size for layout tests: a detached tmux session
 * (its own server socket in the test's directory, no status line, so the
 * pane is the whole COLSxROWS screen) running bin/pocketca; the test reads
 * the screen as a person sees it (`capture-pane -p`) and types with
 * `send-keys`. The server is killed when the test ends.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { BIN, cleanEnv } from './cli';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Screen {
  /** The visible screen, one string per row (trailing spaces dropped, as tmux does). */
  capture(): string[];
  /** The screen and everything that scrolled off the top. */
  history(): string[];
  /** Poll the visible screen until `test` passes on it; returns that screen. */
  waitFor(test: (rows: string[]) => boolean, what: string, timeoutMs?: number): Promise<string[]>;
  /** Keys as tmux names them (`Enter`, `Down`) or literal text with `literal`. */
  keys(keys: string, literal?: boolean): void;
  resize(columns: number, rows: number): void;
  /** The command's exit status once it has ended (the pane stays on the screen, remain-on-exit), else undefined. */
  exitStatus(): number | undefined;
}

export function runInTmux(t: TestContext, dir: string, args: string[], opts: { columns: number; rows: number; env?: Record<string, string | undefined>; cwd?: string }): Screen {
  const socket = join(dir, 'tmux.sock');
  const conf = join(dir, 'tmux.conf');
  writeFileSync(conf, 'set -g status off\nset -g remain-on-exit on\nset -g history-limit 2000\n');
  const env = { ...cleanEnv(opts.env), LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TMUX: undefined };
  delete env.TMUX;
  const tmux = (...a: string[]) => {
    const r = spawnSync('tmux', ['-u', '-S', socket, '-f', conf, ...a], { env, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${a[0]}: ${r.stderr}`);
    return r.stdout;
  };
  // The status goes to a file: tmux may mark the pane dead before it records the status, or not at all.
  const statusFile = join(dir, 'tmux.status');
  const command = `cd ${shellQuote(opts.cwd ?? dir)} && ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}; echo $? > ${shellQuote(statusFile)}`;
  tmux('new-session', '-d', '-s', 'main', '-x', String(opts.columns), '-y', String(opts.rows), command);
  t.after(() => spawnSync('tmux', ['-S', socket, 'kill-server'], { env, timeout: 10_000 }));
  const lines = (text: string) => text.replace(/\n$/, '').split('\n');
  const screen: Screen = {
    capture: () => lines(tmux('capture-pane', '-p', '-t', 'main')),
    history: () => lines(tmux('capture-pane', '-p', '-S', '-', '-t', 'main')),
    async waitFor(test, what, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const rows = screen.capture();
        if (test(rows)) return rows;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen:\n${rows.join('\n')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    keys(keys, literal = false) {
      tmux('send-keys', '-t', 'main', ...(literal ? ['-l', keys] : [keys]));
    },
    resize(columns, rows) {
      tmux('resize-window', '-t', 'main', '-x', String(columns), '-y', String(rows));
    },
    exitStatus() {
      try {
        const status = readFileSync(statusFile, 'utf8');
        return status.endsWith('\n') ? Number(status) : undefined;
      } catch {
        return undefined;
      }
    },
  };
  return screen;
}
