/**
 * Questions at the terminal, through @inquirer/prompts. Prompts are drawn on
 * stderr so stdout carries only results (SPEC "Commands"). Ctrl-C or Ctrl-D
 * at a prompt is the user saying stop: PromptCancelledError (exit 1), not an
 * internal error.
 */
import { homedir } from 'node:os';
import { sep } from 'node:path';
import { PromptCancelledError, UsageError } from '../errors';

const context = () => ({ output: process.stderr });

async function guard<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (error) {
    // inquirer's ExitPromptError (its classes live in @inquirer/core, not a direct dependency)
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
      throw new PromptCancelledError('cancelled at the prompt; nothing more was done');
    }
    throw error;
  }
}

/** A line of text; `validate` returns true or the message to show before asking again. */
export async function askText(message: string, opts: { default?: string; validate?: (value: string) => true | string } = {}): Promise<string> {
  const { input } = await import('@inquirer/prompts');
  return guard(() => input({ message, default: opts.default, validate: opts.validate }, context()));
}

export async function askChoice<T extends string>(message: string, choices: { value: T; name: string }[]): Promise<T> {
  const { select } = await import('@inquirer/prompts');
  return guard(() => select<T>({ message, choices }, context()));
}

export async function askConfirm(message: string, defaultValue: boolean): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return guard(() => confirm({ message, default: defaultValue }, context()));
}

/**
 * A secret, masked; `validate` as for askText. Once typed it is marked
 * neither right nor wrong (inquirer's green tick would say "accepted" of a
 * passphrase that may turn out wrong): the next line says.
 */
export async function askSecret(message: string, validate?: (value: string) => true | string): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  return guard(() => password({ message, mask: '*', validate, theme: { prefix: { done: '-' } } }, context()));
}

/**
 * A path typed at a prompt, read as the shell would have read it on the
 * command line: no shell expands what a prompt gets, so `~` and `~/phones`
 * are made the home directory here (else `~/phones` is a directory named `~`
 * under the current one, and removing it later with `rm -rf ~` is a
 * disaster). `~user` (another user's home, which pocketca does not look
 * up) is refused rather than taken as a directory named `~user`.
 */
export function typedPath(value: string, home = homedir()): string {
  if (value === '~') return home;
  if (value.startsWith('~/')) return home + sep + value.slice(2);
  if (value.startsWith('~')) throw new UsageError(`${value}: only ~ and ~/ (your home directory) are read here; type the whole path`);
  return value;
}

/** A path as a prompt offers it: under the home directory as `~/...` (typedPath reads it back). */
export function shownPath(path: string, home = homedir()): string {
  if (path === home) return '~';
  return path.startsWith(home + sep) ? `~${path.slice(home.length)}` : path;
}
