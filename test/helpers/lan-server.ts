/**
 * Driving a pocketca command that serves on the LAN (`share`, `scep`) from an
 * e2e test: start it with --json, read its first stdout line, and talk to it
 * with node's http (which sends the request-target exactly as written). Each
 * process is bounded in time and killed in t.after.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import type { TestContext } from 'node:test';
import { BIN, cleanEnv } from './cli';

export interface ServingProcess {
  /** The first stdout line, parsed. */
  json: Record<string, string>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number>;
}

/** Start `pocketca ARGS`, wait for its one JSON line (10 s at most) and check its keys; killed after `killAfterMs` (default 30 s). */
export async function startServing(t: TestContext, args: string[], keys: string[], what = args[0]!, killAfterMs = 30_000): Promise<ServingProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  t.after(() => {
    clearTimeout(killer);
    child.kill('SIGKILL');
  });
  exited.then(() => clearTimeout(killer));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 10 s; stderr:\n${stderr}`)), 10_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, nl));
      }
    });
    exited.then((code) => reject(new Error(`${what} exited ${code} before printing the URL; stderr:\n${stderr}`)));
  });
  const json = JSON.parse(line);
  assert.deepEqual(Object.keys(json), keys, `one line {${keys.map((k) => `"${k}"`).join(', ')}}`);
  return { json, stdout: () => stdout, stderr: () => stderr, exited };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One request with the path sent verbatim; null when the connection is refused (the server has gone).
 * `headers`: e.g. a browser's Accept. `localAddress`: the client's address (127.0.0.2 is another machine to a server on 127.0.0.1).
 */
export function fetchRaw(url: URL, path: string, method = 'GET', body?: Buffer, options: { headers?: Record<string, string>; localAddress?: string } = {}): Promise<Reply | null> {
  const { headers = {}, localAddress } = options;
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers, agent: false, timeout: 10_000, ...(localAddress ? { localAddress } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request ${method} ${path} timed out`)));
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(null) : reject(error)));
    req.end(body);
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
