/**
 * The work a command can begin before the program loads, from hints in argv
 * (argv.ts): `issue` starts its RSA key on the thread pool, and the commands
 * that unlock the CA key start its scrypt there (src/host/key-prefetch.ts).
 * Loading commander and the command takes as long as either, so both finish
 * about when the command needs them. start.ts loads this module only for
 * those commands: `list` or `--version` pay nothing for it.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { prefetchKey } from '../host/key-prefetch';
import { optionValue, resolveHome } from './argv';
import { MAX_SECRET_BYTES, secretFromFileText } from './secrets';

/** An encrypted RSA-4096 PKCS#8 PEM is about 3.4 KB. */
const MAX_KEY_BYTES = 64 * 1024;
const KEY_SIZES = new Set([2048, 3072, 4096]);

/**
 * `issue`'s --key-size (default 2048, SPEC), when it is one it accepts and
 * the key is RSA: an EC key takes well under a millisecond, nothing to win.
 */
function issueKeySize(args: readonly string[]): number | undefined {
  let size = 2048;
  let rsa = true;
  args.forEach((arg, i) => {
    if (arg === '--key-size') size = Number(args[i + 1]);
    else if (arg.startsWith('--key-size=')) size = Number(arg.slice('--key-size='.length));
    else if (arg === '--key-type') rsa = args[i + 1] === 'rsa';
    else if (arg.startsWith('--key-type=')) rsa = arg === '--key-type=rsa';
  });
  return rsa && KEY_SIZES.has(size) ? size : undefined;
}

/** Start what `command` (one that unlocks the CA key: start.ts) will wait for; anything that cannot start is left to the command. */
export function startEarlyWork(command: string, args: readonly string[]): void {
  const bits = command === 'issue' ? issueKeySize(args) : undefined;
  // The longest first: an RSA key pair (100-300 ms) before the scrypt (~50 ms). Required only then: key-pairs
  // brings the key types and X.509 modules (~7 ms), which would hold up the scrypt of every other command.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (bits) (require('../host/key-pairs') as typeof import('../host/key-pairs')).startKey({ type: 'rsa', bits });
  prefetchCaKey(args);
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
 * Start unlocking the CA key (src/host/key-prefetch.ts) with what the command
 * will read: the passphrase from --passphrase-file, else $POCKETCA_PASSPHRASE
 * (never a prompt), and ca.key.pem in the home. Anything missing or
 * unreadable: nothing is started (undefined), and the command reports it in
 * its own words later.
 */
export function prefetchCaKey(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<KeyObject> | undefined {
  try {
    const file = optionValue(args, '--passphrase-file');
    let passphrase: string | undefined;
    if (file) {
      const bytes = readSmall(file, MAX_SECRET_BYTES);
      passphrase = bytes && secretFromFileText(bytes.toString('utf8'));
    } else passphrase = env.POCKETCA_PASSPHRASE;
    if (!passphrase) return undefined;
    const pem = readSmall(join(resolveHome(optionValue(args, '--home'), env), 'ca.key.pem'), MAX_KEY_BYTES);
    return pem ? prefetchKey(pem, passphrase) : undefined;
  } catch {
    // Only a head start: the command reads everything again and says what is wrong.
    return undefined;
  }
}
