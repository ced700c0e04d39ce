/**
 * The main thread's side of the PKCS#12 worker (src/host/pkcs12-worker.ts):
 * password material requested ahead, in order, answered by id.
 *
 * Every request settles, whatever the worker does (issue 16, item 11): an
 * answer, or the material derived here on the main thread when the worker
 * cannot answer any more, because it failed ('error'), ended ('exit': a
 * worker whose loop empties or that is terminated ends without an error), or
 * a reply could not be read ('messageerror': that reply, and so which request
 * it answered, is lost). Nothing waits for a reply that cannot come.
 *
 * The worker is not unref'd: a 'message' listener added after unref() refs
 * its port again anyway (nodejs/node#53036), and a port that did not keep the
 * process alive would let it end, exit 0, in the middle of a batch whose only
 * pending work is a reply. close() terminates it.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { Pkcs12Format, Pkcs12Secrets } from '../formats/pkcs12';
import type { Pkcs12Reply, Pkcs12Request } from './pkcs12-worker';

export interface Pkcs12Deriver {
  /** The material for `password`, from the worker when it runs, else derived here. */
  derive(password: string, format: Pkcs12Format): Promise<Pkcs12Secrets>;
  /** Stop the worker; requests still pending are rejected (their batch has stopped). */
  close(): void;
}

/** Buffers come back from a worker as Uint8Arrays (structured clone). */
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const reviveDerived = (d: Pkcs12Secrets['mac']): Pkcs12Secrets['mac'] => ({ salt: asBuffer(d.salt), key: asBuffer(d.key), iv: asBuffer(d.iv) });
const revive = (s: Pkcs12Secrets): Pkcs12Secrets => ({
  format: s.format,
  keyBag: reviveDerived(s.keyBag),
  mac: reviveDerived(s.mac),
  ...(s.certSafe ? { certSafe: reviveDerived(s.certSafe) } : {}),
});

interface Pending {
  resolve: (s: Pkcs12Secrets) => void;
  reject: (e: Error) => void;
  password: string;
  format: Pkcs12Format;
}

/**
 * Start the worker. `prepare` is the same derivation on this thread, for
 * when the worker cannot start or stops answering; `script` is the worker's
 * file (default src/host/pkcs12-worker.ts, built).
 */
export function startPkcs12Deriver(prepare: (password: string, format: Pkcs12Format) => Pkcs12Secrets, script = join(__dirname, 'pkcs12-worker.js')): Pkcs12Deriver {
  const pending = new Map<number, Pending>();
  let worker: Worker | undefined;
  let next = 0;
  const settleHere = (p: Pending) => {
    try {
      p.resolve(prepare(p.password, p.format));
    } catch (error) {
      p.reject(error as Error);
    }
  };
  /** The worker is done for: every request it still owes is derived here, and so is every later one. */
  const fallBack = () => {
    const gone = worker;
    worker = undefined;
    if (gone) void gone.terminate();
    const owed = [...pending.values()];
    pending.clear();
    for (const p of owed) settleHere(p);
  };
  try {
    worker = new Worker(script);
    worker.on('message', (m: Pkcs12Reply) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.secrets) p.resolve(revive(m.secrets));
      else p.reject(new Error(m.error ?? 'the PKCS#12 worker failed'));
    });
    worker.on('error', fallBack);
    worker.on('messageerror', fallBack);
    worker.on('exit', fallBack);
  } catch {
    worker = undefined;
  }
  return {
    derive(password, format) {
      if (!worker) return Promise.resolve().then(() => prepare(password, format));
      const id = next++;
      const result = new Promise<Pkcs12Secrets>((resolve, reject) => pending.set(id, { resolve, reject, password, format }));
      worker.postMessage({ id, password, format } satisfies Pkcs12Request);
      return result;
    },
    close() {
      const gone = worker;
      worker = undefined;
      if (gone) void gone.terminate();
      const owed = [...pending.values()];
      pending.clear();
      for (const p of owed) p.reject(new Error('the batch stopped before this PKCS#12 was needed'));
    },
  };
}
