/**
 * Secrets come from a file, the environment or a prompt, never argv (it shows
 * in `ps` and shell history). Without a TTY and without a secret the command
 * exits 2 with a hint instead of hanging.
 */
import { readFileSync, statSync } from 'node:fs';
import { MissingSecretError, UnreadableInputError, UsageError } from '../errors';

export const MAX_SECRET_BYTES = 4096;
export const MIN_PASSPHRASE_LENGTH = 8;

export function readSecretFile(path: string, what: string, warn: (m: string) => void): string {
  let text: string;
  try {
    if (statSync(path).size > MAX_SECRET_BYTES) throw new UsageError(`${what} file ${path} is larger than ${MAX_SECRET_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UnreadableInputError(`cannot read ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
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

async function prompt(message: string): Promise<string> {
  const { askSecret } = await import('./prompt');
  return askSecret(message);
}

export interface PassphraseOptions {
  passphraseFile?: string;
}

/**
 * A lazy, cached CA passphrase source. `create` asks twice at a prompt and
 * enforces a minimum length, for `init`.
 */
export function passphraseSource(opts: PassphraseOptions, mode: 'unlock' | 'create', warn: (m: string) => void): () => Promise<string> {
  let cached: Promise<string> | undefined;
  const resolve = async (): Promise<string> => {
    let secret: string;
    if (opts.passphraseFile) secret = readSecretFile(opts.passphraseFile, 'passphrase', warn);
    else if (process.env.POCKETCA_PASSPHRASE) secret = process.env.POCKETCA_PASSPHRASE;
    else if (isInteractive()) {
      secret = await prompt(mode === 'create' ? 'New CA passphrase:' : 'CA passphrase:');
      if (mode === 'create') {
        if (secret.length < MIN_PASSPHRASE_LENGTH) throw new UsageError(`the CA passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
        const again = await prompt('Repeat the CA passphrase:');
        if (again !== secret) throw new UsageError('the two passphrases differ; nothing was created');
      }
    } else {
      throw new MissingSecretError(
        'no CA passphrase given and no terminal to ask on',
        'use --passphrase-file FILE or set POCKETCA_PASSPHRASE',
      );
    }
    if (mode === 'create' && secret.length < MIN_PASSPHRASE_LENGTH) {
      throw new UsageError(`the CA passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
    }
    return secret;
  };
  return () => (cached ??= resolve());
}

/** The PKCS#12 password: file, environment, or undefined (pocketca generates one). */
export function p12PasswordFrom(opts: { p12PasswordFile?: string }, warn: (m: string) => void): string | undefined {
  if (opts.p12PasswordFile) return readSecretFile(opts.p12PasswordFile, 'PKCS#12 password', warn);
  return process.env.POCKETCA_P12_PASSWORD || undefined;
}
