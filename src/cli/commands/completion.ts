import type { Command } from 'commander';
import { SHELLS, type Shell } from '../completion-scripts';
import { choice, EXIT_CODES, type ProgramDeps } from '../runtime';

export function registerCompletion(program: Command, { fullProgram }: ProgramDeps): void {
  program
    .command('completion')
    .description('print a shell completion script for bash, zsh or fish')
    .argument('<shell>', SHELLS.join(', '), choice('<shell>', SHELLS))
    .addHelpText(
      'after',
      `
The script completes the commands, their options and the fixed values some
options take (--profile, --reason...); paths complete as files. It is made
from the same definitions as --help, so it matches this version.

Examples:
  source <(pocketca completion bash)    # bash; add the line to ~/.bashrc
  mkdir -p ~/.zfunc && pocketca completion zsh > ~/.zfunc/_pocketca
      # zsh; in ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath)
  mkdir -p ~/.config/fish/completions
  pocketca completion fish > ~/.config/fish/completions/pocketca.fish
${EXIT_CODES}`,
    )
    .action(async (shell: Shell) => {
      // The whole program, whichever command this run registered (commands/index.ts loads one).
      const { helpModel } = await import('../help-model');
      const { completionScript } = await import('../completion-scripts');
      const { Output } = await import('../output');
      new Output({ json: false, quiet: false, color: false }).data(completionScript(shell, helpModel(fullProgram())));
    });
}
