/**
 * Key pairs for issued identities, RSA or EC (src/ca/key-types.ts). An RSA
 * key is the longest step of `issue` (~100-300 ms, with a long tail: it
 * searches for primes), and generation runs on libuv's thread pool, so it can
 * start before the program has even loaded (bin -> cli/start) and run
 * alongside everything else (issue 6).
 */
import type { KeyObject } from 'node:crypto';
import { generateKey, keySpecId, type KeySpec } from '../ca/key-types';

/** Keys started early, by spec; each is taken at most once. */
const started = new Map<string, Promise<KeyObject>>();

/** Start generating a key of `spec` now, for a takeKey later in this process. */
export function startKey(spec: KeySpec): void {
  const id = keySpecId(spec);
  if (started.has(id)) return;
  const key = generateKey(spec);
  key.catch(() => undefined); // a failure surfaces where the key is taken
  started.set(id, key);
}

/** The key started for `spec`, else a new one. */
export function takeKey(spec: KeySpec): Promise<KeyObject> {
  const id = keySpecId(spec);
  const key = started.get(id);
  started.delete(id);
  return key ?? generateKey(spec);
}
