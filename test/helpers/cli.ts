/**
 * Drive the real bin/pocketca in temporary homes. Every test gets its own
 * directory; nothing is shared between tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'pocketca');
export const PASSPHRASE = 'correct horse battery staple';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  cwd?: string;
  timeoutMs?: number;
}

/** The environment a user would have, without secrets leaking in from the runner's. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['POCKETCA_HOME', 'POCKETCA_PASSPHRASE', 'POCKETCA_P12_PASSWORD', 'POCKETCA_DEBUG', 'POCKETCA_TEST_DIE_AT', 'POCKETCA_TEST_PAUSE_AT']) delete env[key];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function pocketca(args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? (r.signal ? 128 : -1), stdout: r.stdout, stderr: r.stderr };
}

export function pocketcaAsync(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function tempDir(prefix = 'pocketca-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A file with mode 0600 holding `content` (passphrases, passwords). */
export function secretFile(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

export interface TestCa {
  dir: string;
  home: string;
  out: string;
  passFile: string;
  /** Run pocketca with this CA's --home and --passphrase-file. */
  run(args: string[], opts?: RunOptions): RunResult;
  runAsync(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Run and fail the test unless it exits 0. */
  ok(args: string[], opts?: RunOptions): RunResult;
  cleanup(): void;
}

/** Command names that take --passphrase-file. */
const NEEDS_KEY = new Set(['init', 'issue', 'sign', 'revoke', 'crl', 'renew', 'backup', 'restore', 'enroll', 'scep']);

export function createTestCa(initArgs: string[] = []): TestCa {
  const dir = tempDir();
  const home = join(dir, 'home');
  const out = join(dir, 'out');
  spawnSync('mkdir', ['-p', out]);
  const passFile = secretFile(dir, 'passphrase', PASSPHRASE);
  const withHome = (args: string[]) => [...args, '--home', home, ...(NEEDS_KEY.has(args[0]!) && !args.includes('--passphrase-file') ? ['--passphrase-file', passFile] : [])];
  const ca: TestCa = {
    dir,
    home,
    out,
    passFile,
    run: (args, opts) => pocketca(withHome(args), { cwd: out, ...opts }),
    runAsync: (args, opts) => pocketcaAsync(withHome(args), { cwd: out, ...opts }),
    ok: (args, opts) => {
      const r = pocketca(withHome(args), { cwd: out, ...opts });
      if (r.code !== 0) throw new Error(`pocketca ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
      return r;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  // RSA-2048 unless the test chooses the key: an EC root takes no --key-size.
  ca.ok(['init', ...(initArgs.includes('--key-type') || initArgs.includes('--key-size') ? [] : ['--key-size', '2048']), ...initArgs]);
  return ca;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run an external program (openssl, certtool...). */
export function tool(command: string, args: string[], opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): ToolResult {
  const r = spawnSync(command, args, { input: opts.input, cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export const openssl = (args: string[], opts: { input?: string | Buffer; cwd?: string } = {}): ToolResult => tool('openssl', args, opts);
