/**
 * A real terminal of a fixed size for layout tests: a detached tmux session
 * (its own server, no status line, so the pane is the whole COLSxROWS
 * screen) running bin/pocketca; the test reads the screen as a person sees
 * it (`capture-pane -p`) and types with `send-keys`.
 *
 * The server's socket, configuration and the command's exit status live in
 * a directory of the helper's own, not the test's: the test may remove its
 * directory first (t.after hooks run in the order they were added), and a
 * server whose socket is gone can no longer be told to stop. When the test
 * ends, passed or failed, the server is killed (and its process waited for,
 * SIGKILL after 5 s), then that directory is removed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { BIN, cleanEnv } from './cli';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Screen {
  /** The visible screen, one string per row (trailing spaces dropped, as tmux does). */
  capture(): string[];
  /** The screen and everything that scrolled off the top. */
  history(): string[];
  /**
   * history() with the lines the terminal folded joined again (`capture-pane
   * -J`): a line longer than the width here is one that did not fit.
   */
  joinedHistory(): string[];
  /** Poll the visible screen until `test` passes on it; returns that screen. */
  waitFor(test: (rows: string[]) => boolean, what: string, timeoutMs?: number): Promise<string[]>;
  /** Keys as tmux names them (`Enter`, `Down`) or literal text with `literal`. */
  keys(keys: string, literal?: boolean): void;
  resize(columns: number, rows: number): void;
  /** The command's exit status once it has ended (the pane stays on the screen, remain-on-exit), else undefined. */
  exitStatus(): number | undefined;
}

/** Whether process `pid` is still running (a zombie counts as ended). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Stop a tmux server and wait for its process to end: kill-server, then SIGKILL after 5 s. */
function stopServer(socket: string, pid: number, env: NodeJS.ProcessEnv): void {
  spawnSync('tmux', ['-S', socket, 'kill-server'], { env, timeout: 10_000 });
  const end = Date.now() + 5_000;
  while (pid > 0 && alive(pid) && Date.now() < end) spawnSync('sleep', ['0.05']);
  if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * `args` are bin/pocketca's arguments; with `shell`, a shell command line
 * runs instead (`pocketca` in it is bin/pocketca), to show several
 * commands on one screen.
 */
export function runInTmux(
  t: TestContext,
  dir: string,
  args: string[],
  opts: { columns: number; rows: number; env?: Record<string, string | undefined>; cwd?: string; shell?: string },
): Screen {
  const own = mkdtempSync(join(tmpdir(), 'pocketca-tmux-'));
  const socket = join(own, 'tmux.sock');
  const conf = join(own, 'tmux.conf');
  writeFileSync(conf, 'set -g status off\nset -g remain-on-exit on\nset -g history-limit 5000\n');
  const env = { ...cleanEnv(opts.env), LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TMUX: undefined };
  delete env.TMUX;
  const tmux = (...a: string[]) => {
    const r = spawnSync('tmux', ['-u', '-S', socket, '-f', conf, ...a], { env, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${a[0]}: ${r.stderr}`);
    return r.stdout;
  };
  // The status goes to a file: tmux may mark the pane dead before it records the status, or not at all.
  const statusFile = join(own, 'tmux.status');
  const pocketca = [process.execPath, BIN].map(shellQuote).join(' ');
  const run = opts.shell === undefined ? `${pocketca} ${args.map(shellQuote).join(' ')}` : `pocketca() { ${pocketca} "$@"; }; ${opts.shell}`;
  const command = `cd ${shellQuote(opts.cwd ?? dir)} && ${run}; echo $? > ${shellQuote(statusFile)}`;
  let pid = 0;
  t.after(() => {
    stopServer(socket, pid, env);
    rmSync(own, { recursive: true, force: true });
  });
  tmux('new-session', '-d', '-s', 'main', '-x', String(opts.columns), '-y', String(opts.rows), command);
  pid = Number(tmux('display-message', '-p', '#{pid}').trim());
  const lines = (text: string) => text.replace(/\n$/, '').split('\n');
  const screen: Screen = {
    capture: () => lines(tmux('capture-pane', '-p', '-t', 'main')),
    history: () => lines(tmux('capture-pane', '-p', '-S', '-', '-t', 'main')),
    joinedHistory: () => lines(tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'main')),
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
