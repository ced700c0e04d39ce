/**
 * Unlocking the CA key costs one scrypt (about 80 ms), as long as loading
 * the program. When the passphrase comes from a file or the environment,
 * bin/pocketca starts that scrypt on the thread pool before it loads the
 * rest (src/cli/start.ts), and the unlock later takes the result.
 *
 * What start.ts reads here is a guess from argv: the unlock uses the result
 * only for the very same key bytes and passphrase it reads itself, through
 * the usual checks, so a wrong guess costs a wasted scrypt, never a wrong key.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { decryptPrivateKeyAsync } from '../formats/encrypted-key';

/** The same limit as secrets.ts: a passphrase file larger than this is refused there. */
const MAX_SECRET_BYTES = 4096;
/** An encrypted RSA-4096 PKCS#8 PEM is about 3.4 KB. */
const MAX_KEY_BYTES = 64 * 1024;

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

/** The value of `--name VALUE` or `--name=VALUE`, the last one given. */
function optionValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, i) => {
    if (arg === name && i + 1 < args.length) value = args[i + 1];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  });
  return value;
}

/**
 * A regular file's bytes, up to `limit`. Anything else is left alone: a pipe
 * (`--passphrase-file <(pass show ca)`) can be read only once, and that read
 * belongs to the command.
 */
function readSmall(path: string, limit: number): Buffer | undefined {
  const stat = statSync(path);
  return stat.isFile() && stat.size <= limit ? readFileSync(path) : undefined;
}

/**
 * From argv and the environment as secrets.ts and runtime.ts will read them:
 * the passphrase (--passphrase-file, else POCKETCA_PASSPHRASE; never a
 * prompt) and the key under the home (--home, POCKETCA_HOME, ~/.pocketca).
 * Anything missing or unreadable: nothing is started (undefined), and the
 * command reports it in its own words later.
 */
export function prefetchCaKey(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<KeyObject> | undefined {
  try {
    const file = optionValue(args, '--passphrase-file');
    let passphrase: string | undefined;
    if (file) passphrase = readSmall(file, MAX_SECRET_BYTES)?.toString('utf8').replace(/\r?\n$/, '');
    else passphrase = env.POCKETCA_PASSPHRASE;
    if (!passphrase) return undefined;
    const home = resolve(optionValue(args, '--home') ?? env.POCKETCA_HOME ?? join(homedir(), '.pocketca'));
    const pem = readSmall(join(home, 'ca.key.pem'), MAX_KEY_BYTES);
    return pem ? prefetchKey(pem, passphrase) : undefined;
  } catch {
    // Only a head start: the command reads everything again and says what is wrong.
    return undefined;
  }
}
