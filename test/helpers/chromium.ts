/**
 * Debian's headless Chromium, driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: the browser reads commands on its fd 3 and
 * writes answers and events on fd 4, each a JSON message ended by a NUL), so
 * no port is opened and no npm client is needed. Every browser gets a new
 * empty profile in a temporary directory, is bounded in time, and is killed
 * in t.after.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { requireTool } from './tools';

/** The flags of a quiet headless browser that talks to nothing but the pages it is sent to. */
const FLAGS = [
  '--headless',
  '--no-sandbox', // CI runs as root, where Chromium's sandbox refuses to start
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-features=MediaRouter,OptimizationHints,Translate',
  '--remote-debugging-pipe',
];

/** Safari on an iPhone, as it introduces itself. */
export const IPHONE_SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
/** An iPhone's screen in CSS pixels. */
export const IPHONE_VIEWPORT = { width: 390, height: 844, deviceScaleFactor: 3, mobile: true };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Listener = (params: Json, sessionId?: string) => void;

export interface Browser {
  /** One command; resolves with its result, rejects with its error (10 s at most). */
  send(method: string, params?: Json, sessionId?: string): Promise<Json>;
  /** Every event of this name, from now on. */
  on(method: string, listener: Listener): void;
  /** The next event of this name that `accept` takes (default any), within `ms`. */
  next(method: string, accept?: (params: Json, sessionId?: string) => boolean, ms?: number): Promise<Json>;
  /** A new tab, attached: its session id. */
  newPage(): Promise<string>;
  /** The profile directory, for downloads. */
  dir: string;
}

/** Start Chromium, or skip the test (fail it under CI) when it is not installed. */
export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  if (!requireTool(t, 'chromium')) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-chromium-'));
  const child = spawn('chromium', [...FLAGS, `--user-data-dir=${join(dir, 'profile')}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, HOME: dir },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  t.after(async () => {
    clearTimeout(killer);
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, Listener[]>();
  let buffered = '';
  fromBrowser.setEncoding('utf8');
  fromBrowser.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\0'); end >= 0; end = buffered.indexOf('\0')) {
      const message = JSON.parse(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      if (message.id !== undefined) {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(`${message.error.message} (${JSON.stringify(message.error.data ?? '')})`));
        else waiter?.resolve(message.result);
      } else {
        for (const listener of listeners.get(message.method) ?? []) listener(message.params, message.sessionId);
      }
    }
  });
  exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error(`chromium exited; stderr:\n${stderr}`));
  });

  const send = (method: string, params: Json = {}, sessionId?: string): Promise<Json> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${method}: no answer from chromium within 10 s; stderr:\n${stderr}`));
      }, 10_000);
      pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  const on = (method: string, listener: Listener) => listeners.set(method, [...(listeners.get(method) ?? []), listener]);
  const next = (method: string, accept: (params: Json, sessionId?: string) => boolean = () => true, ms = 15_000): Promise<Json> =>
    new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new Error(`no ${method} within ${ms} ms`));
      }, ms);
      on(method, (params, sessionId) => {
        if (done || !accept(params, sessionId)) return;
        done = true;
        clearTimeout(timer);
        resolve(params);
      });
    });
  const newPage = async (): Promise<string> => {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    return sessionId as string;
  };
  // The first answer says the browser is up.
  await send('Browser.getVersion');
  return { send, on, next, newPage, dir };
}
