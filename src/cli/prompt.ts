/**
 * Questions at the terminal, through @inquirer/prompts. Prompts are drawn on
 * stderr so stdout carries only results (SPEC "Commands"). Ctrl-C or Ctrl-D
 * at a prompt is the user saying stop: PromptCancelledError (exit 1), not an
 * internal error.
 */
import { PromptCancelledError } from '../errors';

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

/** A secret, masked; `validate` as for askText. */
export async function askSecret(message: string, validate?: (value: string) => true | string): Promise<string> {
  const { password } = await import('@inquirer/prompts');
  return guard(() => password({ message, mask: '*', validate }, context()));
}
