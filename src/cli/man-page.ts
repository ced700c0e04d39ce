/**
 * The man page, pocketca(1), made from the help model (help-model.ts): the
 * same commands, options and help texts as `--help`. `npm run man` writes it
 * to man/pocketca.1 (named in package.json "man"); a test regenerates it and
 * compares, so a changed option without a regenerated page fails the tests.
 * Plain man(7) macros only (TH SH SS TP PP nf fi), read by groff and mandoc.
 */
import type { CommandModel, OptionModel, ProgramModel } from './help-model';

/** Text safe in roff: backslashes escaped, hyphens literal, no line starting with a control character. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    // A place to break a|b|c lists wider than the page.
    .replace(/\|/g, '|\\:')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function option(o: OptionModel): string {
  return `.TP\n.B ${roff(o.flags)}\n${roff(o.description)}`;
}

/**
 * Help text as written (examples are aligned by hand): no filling, and set
 * out only 1 column (not the section's 7), because --help's lines use up to 80.
 */
function preformatted(text: string): string {
  return `.PP\n.nf\n.in 1n\n${roff(text)}\n.in\n.fi`;
}

function command(m: ProgramModel, c: CommandModel): string {
  const parts = [`.SS "${m.name} ${c.name} ${roff(c.usage)}"`, roff(c.description)];
  if (c.arguments.length) parts.push('.PP\nArguments:', ...c.arguments.map((a) => `.TP\n.I ${roff(a.name)}\n${roff(a.description)}`));
  parts.push('.PP\nOptions:', ...c.options.map(option));
  if (c.details) parts.push(preformatted(c.details));
  return parts.join('\n');
}

export function manPage(m: ProgramModel): string {
  const name = m.name.toUpperCase();
  return [
    `.\\" ${m.name}(1), made by \`npm run man\` from the program's command definitions; do not edit.`,
    `.TH ${name} 1 "" "${m.name} ${m.version}" "User Commands"`,
    // Ragged right: option lists such as a|b|c leave nothing to stretch in a justified line.
    '.ad l',
    '.SH NAME',
    `${m.name} \\- ${roff(m.description.replace(/\.$/, '').replace(/^A /, 'a '))}`,
    '.SH SYNOPSIS',
    `.B ${m.name}`,
    '[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
    `${roff(m.description)} Run \\fB${m.name} \\fIcommand\\fB \\-\\-help\\fR for one command's help; it is the text of this page.`,
    '.SH GLOBAL OPTIONS',
    'Accepted by every command.',
    ...m.globalOptions.map(option),
    '.SH COMMANDS',
    ...m.commands.map((c) => command(m, c)),
    '.SH ENVIRONMENT',
    '.TP\n.B POCKETCA_HOME\nthe CA home when \\-\\-home is not given (else ~/.pocketca)',
    '.TP\n.B POCKETCA_PASSPHRASE\nthe CA passphrase, when \\-\\-passphrase\\-file is not given',
    '.TP\n.B POCKETCA_P12_PASSWORD\nthe PKCS#12 password, when \\-\\-p12\\-password\\-file is not given (else one is generated and shown once)',
    '.TP\n.B POCKETCA_DEBUG\n1 prints stack traces with errors',
    '.TP\n.B NO_COLOR\nno colours in output, as \\-\\-no\\-color',
    '.SH FILES',
    '.TP\n.I ~/.pocketca/\nthe CA home (mode 0700): pocketca.db, ca.key.pem (encrypted), ca.pem, bundle.pem, crl.pem',
    '.SH EXIT STATUS',
    '0 success; 1 the operation failed (wrong passphrase, unknown serial, CA exists, a check failed); 2 bad usage or bad input (unknown flag, invalid name, malformed CSR, unreadable file); 70 an internal error (a bug: re\\-run with POCKETCA_DEBUG=1 and report it).',
    '.SH SEE ALSO',
    '.BR openssl (1),',
    '.BR nginx (8),',
    '.BR apache2 (8),',
    '.BR mosquitto (8)',
    '',
  ].join('\n');
}
