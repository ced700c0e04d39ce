/**
 * What can be read from argv before commander parses it: hints (which
 * command runs, where the home and the passphrase are) used to load less and
 * to start work early. commander remains the parser; a wrong hint only costs
 * the head start.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { prefetchKey } from '../host/key-prefetch';
import { UsageError } from '../errors';
import { MAX_SECRET_BYTES, secretFromFileText } from './secrets';

/** Global options that take a value (main.ts), to find the command word. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--home']);
/** An encrypted RSA-4096 PKCS#8 PEM is about 3.4 KB. */
const MAX_KEY_BYTES = 64 * 1024;

/** The command word: the first argument that is neither a global option nor its value. */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (GLOBAL_OPTIONS_WITH_VALUE.has(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) return args[i];
  }
  return undefined;
}

/** The CA home: --home, else $POCKETCA_HOME, else ~/.pocketca (SPEC). */
export function resolveHome(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const given = option ?? env.POCKETCA_HOME ?? join(homedir(), '.pocketca');
  // resolve('') is the current directory: an empty value must not quietly mean "here".
  if (given === '') throw new UsageError(`${option === '' ? '--home' : 'POCKETCA_HOME'} is empty`, 'name the CA home directory, e.g. --home ~/.pocketca');
  return resolve(given);
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
