/**
 * RSA key pairs for issued identities. Generation is the longest step of
 * `issue` (~100-300 ms, with a long tail: it searches for primes), and it runs
 * on libuv's thread pool, so it can start before the program has even loaded
 * (bin -> cli/start) and run alongside everything else (issue 6).
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

export const generateRsaKey = (bits: number): Promise<KeyObject> =>
  promisify(generateKeyPair)('rsa', { modulusLength: bits, publicExponent: 0x10001 }).then((pair) => pair.privateKey);

/** Keys started early, by size; each is taken at most once. */
const started = new Map<number, Promise<KeyObject>>();

/** Start generating a key of `bits` now, for a takeRsaKey later in this process. */
export function startRsaKey(bits: number): void {
  if (started.has(bits)) return;
  const key = generateRsaKey(bits);
  key.catch(() => undefined); // a failure surfaces where the key is taken
  started.set(bits, key);
}

/** The key started for `bits`, else a new one. */
export function takeRsaKey(bits: number): Promise<KeyObject> {
  const key = started.get(bits);
  started.delete(bits);
  return key ?? generateRsaKey(bits);
}
