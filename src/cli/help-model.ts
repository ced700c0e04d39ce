/**
 * The command line as data, read from the commander program itself: the same
 * definitions `--help` prints, so the man page and the shell completions made
 * from this model cannot drift from the program (issue 10).
 */
import { Help, type Argument, type Command, type Option } from 'commander';

export interface OptionModel {
  /** As written in the definition: `-q, --quiet`, `--out-dir <dir>`. */
  flags: string;
  long?: string;
  short?: string;
  /** The help text with the default, as `--help` shows it. */
  description: string;
  /** The option takes a value (`<dir>`, `[n]`). */
  takesValue: boolean;
  /** The values it accepts, when it accepts only a few. */
  choices?: readonly string[];
  /** The value's placeholder without brackets: `dir`, `file`. */
  valueName?: string;
}

export interface ArgumentModel {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  choices?: readonly string[];
  /** What the shell completes for it from the CA home: `names`, the recorded names (runtime.ts recordRef); else files. */
  completes?: 'names';
}

export interface CommandModel {
  name: string;
  description: string;
  /** `[options] <name>` */
  usage: string;
  arguments: ArgumentModel[];
  options: OptionModel[];
  /** The text `--help` prints after the options (details, examples, exit codes), trimmed. */
  details: string;
}

export interface ProgramModel {
  name: string;
  version: string;
  description: string;
  globalOptions: OptionModel[];
  commands: CommandModel[];
}

/** Values a parser accepts, for parsers that say (runtime.ts `choice`), else commander's own `.choices()`. */
function choicesOf(item: Option | Argument): readonly string[] | undefined {
  const parser = (item as { parseArg?: { choices?: readonly string[] } }).parseArg;
  return parser?.choices ?? item.argChoices;
}

function optionModel(help: Help, o: Option): OptionModel {
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
  return {
    flags: o.flags,
    long: o.long,
    short: o.short,
    description: help.optionDescription(o),
    takesValue: o.required || o.optional,
    choices: choicesOf(o),
    valueName,
  };
}

/** What `--help` prints after the usage, description, arguments and options: the text added with addHelpText. */
function detailsOf(command: Command): string {
  let written = '';
  const capture = { writeOut: (s: string) => (written += s), writeErr: (s: string) => (written += s) };
  const saved = command.configureOutput();
  command.configureOutput({ ...saved, ...capture });
  try {
    command.outputHelp();
  } finally {
    command.configureOutput(saved);
  }
  const base = command.helpInformation();
  const at = written.indexOf(base);
  return (at >= 0 ? written.slice(at + base.length) : '').trim();
}

export function helpModel(program: Command): ProgramModel {
  const help = program.createHelp();
  const commands = program.commands.map((c): CommandModel => {
    const commandHelp = c.createHelp();
    return {
      name: c.name(),
      description: c.description(),
      usage: c.usage(),
      arguments: c.registeredArguments.map((a) => ({
        name: a.name(),
        description: commandHelp.argumentDescription(a),
        required: a.required,
        variadic: a.variadic,
        choices: choicesOf(a),
        completes: (a as { parseArg?: { completes?: 'names' } }).parseArg?.completes,
      })),
      options: commandHelp.visibleOptions(c).map((o) => optionModel(commandHelp, o)),
      details: detailsOf(c),
    };
  });
  return {
    name: program.name(),
    version: program.version() ?? '',
    description: program.description(),
    globalOptions: help.visibleOptions(program).map((o) => optionModel(help, o)),
    commands,
  };
}

/** Every spelling of an option: `-q`, `--quiet`. */
export function optionWords(o: OptionModel): string[] {
  return [o.short, o.long].filter((w): w is string => Boolean(w));
}
