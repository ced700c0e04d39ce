/** Turning commander's options into what a use case needs. */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../host/context';
import { CaHome } from '../host/home';
import { resolveHome } from './argv';
import { homeAccessOf } from './commands';
import { Output } from './output';
import { passphraseSource, type PassphraseOptions } from './secrets';

export interface GlobalOptions {
  home?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
  yes?: boolean;
}

export interface Runtime {
  ctx: AppContext;
  out: Output;
  globals: GlobalOptions;
}

/** What a command may need from the program around it, passed in so that no command imports main. */
export interface ProgramDeps {
  /** The program with every command registered (completion describes all of them). */
  fullProgram: () => Command;
}

/** The name of the top-level command `command` is, or is under (`proxy` for `proxy nginx`). */
function topLevelName(command: Command): string {
  let c = command;
  while (c.parent?.parent) c = c.parent;
  return c.name();
}

/**
 * Build the context for a command; the home is closed by main after the
 * action. What the command does to the home (HOME_ACCESS) comes from its
 * name, so no command can leave it out.
 */
export function runtimeFor(command: Command, secrets: PassphraseOptions = {}, mode: 'unlock' | 'create' = 'unlock'): Runtime {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const out = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), color: globals.color !== false });
  const warn = (m: string) => out.warn(m);
  const home = new CaHome(resolveHome(globals.home), { access: homeAccessOf(topLevelName(command)), warn });
  openHomes.push(home);
  const passphrase = passphraseSource(secrets, mode, warn);
  const ctx: AppContext = {
    home,
    now: () => new Date(),
    randomBytes,
    passphrase: passphrase.get,
    retryPassphrase: passphrase.reject,
    warn,
  };
  return { ctx, out, globals };
}

/** Homes opened by this process, closed by main when the command ends. */
export const openHomes: CaHome[] = [];

export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be from ${min} to ${max}`);
    return n;
  };
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * A SERIAL|NAME argument (revoke, renew, show): taken as typed (the use case
 * resolves it); the shell completions offer the recorded names for it
 * (help-model.ts `completes`, completion-scripts.ts).
 */
export const recordRef = Object.assign((value: string): string => value, { completes: 'names' as const });

/** An IP address to listen on (`--bind`), refused while the command line is parsed: before any passphrase, key or file. */
export function bindOption(value: string): string {
  if (!isIP(value)) throw new InvalidArgumentError('--bind needs an IP address such as 192.168.1.10; without --bind, every interface');
  return value;
}

/**
 * One of `values`, in any case, given back as spelled there (`keycompromise` -> `keyCompromise`, what is recorded).
 * The parser carries them (`.choices`) for the completions and the man page (help-model.ts).
 */
export function choice<T extends string>(name: string, values: readonly T[]) {
  const parse = (value: string): T => {
    const canonical = values.find((v) => v.toLowerCase() === value.toLowerCase());
    if (canonical === undefined) throw new InvalidArgumentError(`${name} must be one of: ${values.join(', ')}`);
    return canonical;
  };
  return Object.assign(parse, { choices: values });
}

/** The EXIT CODES section every command's help ends with. */
export const EXIT_CODES = `
Exit codes:
  0  success
  1  failed (wrong passphrase, unknown serial, CA exists, a check failed)
  2  bad usage or input (unknown flag, invalid name, bad CSR, unreadable file)`;

/** `30s`, `10m`, `1h` -> milliseconds, from 1 second to 24 hours (share's --ttl). */
export function durationOption(name: string) {
  return (value: string): number => {
    const match = /^(\d{1,6})(s|m|h)$/.exec(value.trim());
    if (!match) throw new InvalidArgumentError(`${name} must be a number with s, m or h (30s, 10m, 1h)`);
    const ms = Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
    if (ms < 1000 || ms > 24 * 3_600_000) throw new InvalidArgumentError(`${name} must be from 1s to 24h`);
    return ms;
  };
}
