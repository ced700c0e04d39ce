/**
 * Shell completion scripts made from the help model (help-model.ts), so they
 * offer exactly the commands, options and fixed values the program accepts.
 * A SERIAL|NAME argument completes the names recorded in the CA home (the
 * one --home names on the line, else $POCKETCA_HOME, else ~/.pocketca):
 * `pocketca __complete names` reads them from the database opened read-only,
 * with no passphrase (start.ts, complete.ts). Options that take a path, and
 * other positional arguments, fall back to the shell's own file completion.
 */
import { optionWords, type CommandModel, type OptionModel, type ProgramModel } from './help-model';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const words = (options: OptionModel[]) => options.flatMap(optionWords).join(' ');
const valueWords = (options: OptionModel[]) => options.filter((o) => o.takesValue).flatMap(optionWords).join(' ');
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** The first line of a description, for the shells that show one. */
const summary = (s: string) => s.split('\n')[0]!.replace(/\s+/g, ' ').trim();

function bash(m: ProgramModel): string {
  const commandCases = m.commands
    .map((c) => {
      const valueCases = c.options
        .filter((o) => o.choices)
        .map((o) => `        ${optionWords(o).join('|')}) COMPREPLY=($(compgen -W ${sq(o.choices!.join(' '))} -- "$cur")); return ;;`);
      return [
        `    ${c.name})`,
        `      opts=${sq(words(c.options))}`,
        `      value_opts=${sq(valueWords(c.options))}`,
        ...(valueCases.length ? ['      case "$prev" in', ...valueCases, '      esac'] : []),
        `      positional=${sq(c.arguments[0]?.choices?.join(' ') ?? '')}`,
        `      names=${c.arguments[0]?.completes === 'names' ? 1 : "''"}`,
        '      ;;',
      ].join('\n');
    })
    .join('\n');
  return `# bash completion for ${m.name} ${m.version}; made by \`${m.name} completion bash\`.
# Load it now:   source <(${m.name} completion bash)
# Or for good:   ${m.name} completion bash > ~/.local/share/bash-completion/completions/${m.name}
# The names recorded in the CA home the line names (--home DIR), read-only, no passphrase.
_${m.name}_names() {
  local i h home=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --home) [ $((i + 1)) -lt "$COMP_CWORD" ] && home=(--home "\${COMP_WORDS[i+1]}") ;;
      --home=*) home=(--home "\${COMP_WORDS[i]#--home=}") ;;
    esac
  done
  if [ "\${#home[@]}" -eq 2 ]; then h="\${home[1]}"; [[ $h == "~/"* ]] && home[1]="$HOME/\${h:2}"; fi
  "\${COMP_WORDS[0]}" __complete names "\${home[@]}" 2>/dev/null
}
_${m.name}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" i w opts value_opts positional names
  [ "$COMP_CWORD" -gt 0 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local global_opts=${sq(words(m.globalOptions))}
  local global_value_opts=${sq(valueWords(m.globalOptions))}
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ " $global_value_opts " == *" $w "* ]]; then ((i++)); continue; fi
    case "$w" in -*) continue ;; esac
    cmd="$w"
    break
  done
  if [[ " $global_value_opts " == *" $prev "* ]]; then COMPREPLY=(); return; fi
  if [ -z "$cmd" ]; then
    case "$cur" in
      -*) COMPREPLY=($(compgen -W "$global_opts" -- "$cur")) ;;
      *) COMPREPLY=($(compgen -W ${sq(m.commands.map((c) => c.name).join(' '))} -- "$cur")) ;;
    esac
    return
  fi
  case "$cmd" in
${commandCases}
    *) COMPREPLY=(); return ;;
  esac
  if [[ " $value_opts " == *" $prev "* ]]; then COMPREPLY=(); return; fi
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$opts $global_opts" -- "$cur")) ;;
    *)
      if [ -n "$names" ]; then
        # Names, not files, even when none matches.
        compopt +o default +o bashdefault 2>/dev/null
        COMPREPLY=($(compgen -W "$(_${m.name}_names)" -- "$cur"))
      elif [ -n "$positional" ]; then COMPREPLY=($(compgen -W "$positional" -- "$cur")); else COMPREPLY=(); fi ;;
  esac
}
complete -o bashdefault -o default -F _${m.name} ${m.name}
`;
}

/** An _arguments spec for one option: exclusive spellings, description, value with its choices or files. */
function zshSpec(o: OptionModel): string {
  const desc = summary(o.description).replace(/[[\]\\]/g, (c) => `\\${c}`);
  const value = !o.takesValue ? '' : o.choices ? `:${o.valueName ?? 'value'}:(${o.choices.join(' ')})` : `:${o.valueName ?? 'value'}:_files`;
  const spellings = optionWords(o);
  if (spellings.length === 1) return sq(`${spellings[0]}[${desc}]${value}`);
  return sq(`(${spellings.join(' ')})`) + `{${spellings.join(',')}}` + sq(`[${desc}]${value}`);
}

function zshCommand(m: ProgramModel, c: CommandModel): string {
  const args = c.arguments.map((a, i) => sq(`${i + 1}:${a.name}:${a.choices ? `(${a.choices.join(' ')})` : a.completes === 'names' ? `_${m.name}_names` : '_files'}`));
  return [`    (${c.name})`, `      _arguments -s $globals ${[...c.options.map(zshSpec), ...args].join(' \\\n        ')}`, '      ;;'].join('\n');
}

function zsh(m: ProgramModel): string {
  const commands = m.commands.map((c) => sq(`${c.name}:${summary(c.description).replace(/:/g, '\\:')}`)).join(' \\\n    ');
  return `#compdef ${m.name}
# zsh completion for ${m.name} ${m.version}; made by \`${m.name} completion zsh\`.
# Load it now (after compinit):  source <(${m.name} completion zsh)
# Or for good: write it as _${m.name} in a directory on $fpath.
# The names recorded in the CA home the line names (--home DIR), read-only, no passphrase.
_${m.name}_names() {
  local home=\${opt_args[--home]:-$${m.name}_home}
  [[ $home == '~/'* ]] && home=$HOME/\${home:2}
  local -a names
  names=(\${(f)"$($${m.name}_command __complete names \${home:+--home} \${home:+$home} 2>/dev/null)"})
  compadd -a names
}
_${m.name}() {
  local curcontext="$curcontext" state line ${m.name}_command=$words[1] ${m.name}_home
  local -a globals commands
  globals=(${m.globalOptions.map(zshSpec).join(' ')})
  commands=(${commands})
  _arguments -C -s $globals '1:command:->command' '*::argument:->argument' && return
  ${m.name}_home=\${opt_args[--home]}
  case $state in
  (command) _describe -t commands command commands ;;
  (argument)
    curcontext="\${curcontext%:*}-$line[1]:"
    case $line[1] in
${m.commands.map((c) => zshCommand(m, c)).join('\n')}
    esac
    ;;
  esac
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then _${m.name} "$@"; else compdef _${m.name} ${m.name}; fi
`;
}

function fishLine(m: ProgramModel, condition: string, o: OptionModel): string {
  const parts = [`complete -c ${m.name}`, `-n ${sq(condition)}`];
  if (o.short) parts.push(`-s ${o.short.slice(1)}`);
  if (o.long) parts.push(`-l ${o.long.slice(2)}`);
  if (o.takesValue) parts.push(o.choices ? `-x -a ${sq(o.choices.join(' '))}` : '-r -F');
  parts.push(`-d ${sq(summary(o.description))}`);
  return parts.join(' ');
}

function fish(m: ProgramModel): string {
  const names = m.commands.map((c) => c.name).join(' ');
  const lines = [
    `# fish completion for ${m.name} ${m.version}; made by \`${m.name} completion fish\`.`,
    `# Load it now:   ${m.name} completion fish | source`,
    `# Or for good:   ${m.name} completion fish > ~/.config/fish/completions/${m.name}.fish`,
    `complete -c ${m.name} -f`,
    '# The names recorded in the CA home the line names (--home DIR), read-only, no passphrase.',
    `function __fish_${m.name}_names`,
    '    set -l tokens (commandline -opc)',
    '    set -l home',
    '    for i in (seq 2 (count $tokens))',
    '        if test "$tokens[$i]" = --home; and test $i -lt (count $tokens)',
    '            set home --home $tokens[(math $i + 1)]',
    "        else if string match -q -- '--home=*' $tokens[$i]",
    "            set home --home (string replace -- '--home=' '' $tokens[$i])",
    '        end',
    '    end',
    '    if test (count $home) -eq 2',
    "        set home[2] (string replace -r -- '^~/' \"$HOME/\" $home[2])",
    '    end',
    '    $tokens[1] __complete names $home 2>/dev/null',
    'end',
    ...m.globalOptions.map((o) => fishLine(m, 'true', o)),
    ...m.commands.map((c) => `complete -c ${m.name} -n ${sq(`not __fish_seen_subcommand_from ${names}`)} -a ${c.name} -d ${sq(summary(c.description))}`),
  ];
  for (const c of m.commands) {
    const seen = `__fish_seen_subcommand_from ${c.name}`;
    lines.push(...c.options.filter((o) => o.long !== '--help').map((o) => fishLine(m, seen, o)));
    const first = c.arguments[0];
    if (first?.choices) lines.push(`complete -c ${m.name} -n ${sq(seen)} -a ${sq(first.choices.join(' '))}`);
    else if (first?.completes === 'names') lines.push(`complete -c ${m.name} -n ${sq(seen)} -f -a '(__fish_${m.name}_names)'`);
    else if (first) lines.push(`complete -c ${m.name} -n ${sq(seen)} -F`);
  }
  return lines.join('\n') + '\n';
}

export function completionScript(shell: Shell, model: ProgramModel): string {
  return { bash, zsh, fish }[shell](model);
}
