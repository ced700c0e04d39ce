/**
 * Secrets come from a file, the environment or a prompt, never argv (it shows
 * in `ps` and shell history). Without a TTY and without a secret the command
 * exits 2 with a hint instead of hanging.
 */
import { readFileSync, statSync } from 'node:fs';
import { MissingSecretError, UnreadableInputError, UsageError } from '../errors';
import { describeFsError } from '../host/files';

export const MAX_SECRET_BYTES = 4096;
export const MIN_PASSPHRASE_LENGTH = 8;

export function readSecretFile(path: string, what: string, warn: (m: string) => void): string {
  let text: string;
  try {
    if (statSync(path).size > MAX_SECRET_BYTES) throw new UsageError(`${what} file ${path} is larger than ${MAX_SECRET_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UnreadableInputError(`cannot read ${what} file ${path}: ${describeFsError(error)}`);
  }
  try {
    if ((statSync(path).mode & 0o077) !== 0 && process.platform !== 'win32') warn(`${path} can be read by other users; chmod 600 it`);
  } catch {
    /* mode is advisory */
  }
  const secret = secretFromFileText(text);
  if (!secret) throw new UsageError(`${what} file ${path} is empty`);
  return secret;
}

/** A secret file's text without the one trailing newline `echo secret > file` adds: it is not part of the secret. */
export const secretFromFileText = (text: string): string => text.replace(/\r?\n$/, '');

export const isInteractive = (): boolean => Boolean(process.stdin.isTTY);

async function prompt(message: string, validate?: (value: string) => true | string): Promise<string> {
  const { askSecret } = await import('./prompt');
  return askSecret(message, validate);
}

export interface PassphraseOptions {
  passphraseFile?: string;
}

/** Tries for the CA passphrase at a prompt (SPEC "Everyday use"); a file or the environment gets one. */
export const PASSPHRASE_TRIES = 3;

export interface PassphraseSource {
  /** The CA passphrase: the file, the environment, else the prompt; asked once, lazily, until `reject`. */
  get: () => Promise<string>;
  /** The passphrase was wrong: true when the next `get` asks again (a prompt with tries left), else false. */
  reject: () => boolean;
}

const tooShort = (secret: string): string | undefined =>
  secret.length < MIN_PASSPHRASE_LENGTH ? `the CA passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters` : undefined;

/**
 * `init` at a prompt: the rule stated up front, a short passphrase refused
 * as it is typed, and a mismatched repeat starts the pair again, up to
 * PASSPHRASE_TRIES times.
 */
async function promptNewPassphrase(): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const secret = await prompt(`New CA passphrase (at least ${MIN_PASSPHRASE_LENGTH} characters):`, (value) => tooShort(value) ?? true);
    const again = await prompt('Repeat the CA passphrase:');
    if (again === secret) return secret;
    if (attempt === PASSPHRASE_TRIES) throw new UsageError('the two passphrases differ; nothing was created');
    process.stderr.write('The two passphrases differ; type the new one again.\n');
  }
}

/**
 * A lazy, cached CA passphrase source. `create` asks twice at a prompt and
 * enforces a minimum length, for `init`. At a prompt, a wrong passphrase may
 * be typed again (`reject`), PASSPHRASE_TRIES times in all; from a file or
 * the environment it cannot change, so the first wrong one is final.
 */
export function passphraseSource(opts: PassphraseOptions, mode: 'unlock' | 'create', warn: (m: string) => void): PassphraseSource {
  let cached: Promise<string> | undefined;
  let prompted = false;
  let tries = 0;
  const resolve = async (): Promise<string> => {
    let secret: string;
    if (opts.passphraseFile) secret = readSecretFile(opts.passphraseFile, 'passphrase', warn);
    else if (process.env.POCKETCA_PASSPHRASE) secret = process.env.POCKETCA_PASSPHRASE;
    else if (isInteractive()) {
      prompted = true;
      tries++;
      if (mode === 'create') secret = await promptNewPassphrase();
      else secret = await prompt(tries === 1 ? 'CA passphrase:' : `Wrong passphrase. CA passphrase (try ${tries} of ${PASSPHRASE_TRIES}):`);
    } else {
      throw new MissingSecretError(
        'no CA passphrase given and no terminal to ask on',
        'use --passphrase-file FILE or set POCKETCA_PASSPHRASE',
      );
    }
    const short = mode === 'create' ? tooShort(secret) : undefined;
    if (short) throw new UsageError(short);
    return secret;
  };
  return {
    get: () => (cached ??= resolve()),
    reject: () => {
      if (!prompted || tries >= PASSPHRASE_TRIES) return false;
      cached = undefined;
      return true;
    },
  };
}

/** The PKCS#12 password: file, environment, or undefined (pocketca generates one). */
export function p12PasswordFrom(opts: { p12PasswordFile?: string }, warn: (m: string) => void): string | undefined {
  if (opts.p12PasswordFile) return readSecretFile(opts.p12PasswordFile, 'PKCS#12 password', warn);
  return process.env.POCKETCA_P12_PASSWORD || undefined;
}
