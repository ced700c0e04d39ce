/**
 * What can be read from argv before commander parses it: only hints (which
 * command runs), used to load less. commander remains the parser.
 */

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
