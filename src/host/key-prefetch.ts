/**
 * Unlocking the CA key costs one scrypt (about 80 ms), as long as loading
 * the program. When the passphrase comes from a file or the environment,
 * bin/pocketca starts that scrypt on the thread pool before it loads the
 * rest (prefetchCaKey in src/cli/head-start.ts), and the unlock later takes the
 * result.
 *
 * What is read that early is a guess from argv: the unlock uses the result
 * only for the very same key bytes and passphrase it reads itself, through
 * the usual checks, so a wrong guess costs a wasted scrypt, never a wrong key.
 * A key file asking for more work than KDF_LIMITS starts nothing here either:
 * decryptPrivateKeyAsync refuses it before any scrypt (SPEC "Hostile key files").
 */
import type { KeyObject } from 'node:crypto';
import { decryptPrivateKeyAsync } from '../formats/encrypted-key';

interface Prefetched {
  pem: Buffer;
  passphrase: string;
  key: Promise<KeyObject>;
}

let prefetched: Prefetched | undefined;

/** Start decrypting `pem` with `passphrase` now, for decryptCaKey to take later. */
export function prefetchKey(pem: Buffer, passphrase: string): Promise<KeyObject> {
  const key = decryptPrivateKeyAsync(pem, passphrase);
  // Taken later or never: a failure here is reported (again) by the real unlock.
  key.catch(() => undefined);
  prefetched = { pem, passphrase, key };
  return key;
}

/** Decrypt a CA key PEM, with the prefetched result when it is for these exact bytes and passphrase. */
export function decryptCaKey(pem: Buffer, passphrase: string): Promise<KeyObject> {
  const p = prefetched;
  if (p && p.passphrase === passphrase && p.pem.equals(pem)) {
    prefetched = undefined;
    return p.key;
  }
  return decryptPrivateKeyAsync(pem, passphrase);
}
