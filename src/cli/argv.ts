/**
 * What can be read from argv before commander parses it: hints (which
 * command runs, where the home and the passphrase are) used to load less and
 * to start work early (head-start.ts). commander remains the parser; a wrong
 * hint only costs the head start. Nothing here loads more than Node's own
 * modules: every command but --version reads it first.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors';

/** Global options that take a value (main.ts), to find the command word. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--home']);

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
export function optionValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, i) => {
    if (arg === name && i + 1 < args.length) value = args[i + 1];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  });
  return value;
}
