/**
 * The man page, pocketca(1), made from the help model (help-model.ts): the
 * same commands, options and help texts as `--help`. `npm run man` writes it
 * to man/pocketca.1 (named in package.json "man"); a test regenerates it and
 * compares, so a changed option without a regenerated page fails the tests.
 * Plain man(7) macros only (TH SH SS TP PP IP nf fi), read by groff and mandoc.
 *
 * The page reads as a manual: an overview and the workflow first, then the
 * reference. The exit codes every command's --help ends with are stated once,
 * in EXIT STATUS, with the commands whose codes differ (share, scep) there too.
 */
import type { CommandModel, OptionModel, ProgramModel } from './help-model';
import { EXIT_CODES } from './runtime';

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

/** A command's help text split at its "Exit codes:" block, which ends it when there is one. */
export function splitExitCodes(details: string): { text: string; exitCodes?: string } {
  const at = details.search(/(^|\n)Exit codes:\n/);
  if (at < 0) return { text: details };
  return { text: details.slice(0, at).trimEnd(), exitCodes: details.slice(at).trim() };
}

function command(m: ProgramModel, c: CommandModel): string {
  const parts = [`.SS "${m.name} ${c.name} ${roff(c.usage)}"`, roff(c.description)];
  if (c.arguments.length) parts.push('.PP\nArguments:', ...c.arguments.map((a) => `.TP\n.I ${roff(a.name)}\n${roff(a.description)}`));
  parts.push('.PP\nOptions:', ...c.options.map(option));
  const { text } = splitExitCodes(c.details);
  if (text) parts.push(preformatted(text));
  return parts.join('\n');
}

/**
 * The workflow section: the first commands in the order a new CA needs them.
 * Each step is prose and the lines to type, at most 66 columns so that they
 * fit an 80-column page (a test checks that every command and option named
 * here exists).
 */
export const WORKFLOW: readonly { step: string; commands: readonly string[] }[] = [
  {
    step: 'Create the CA once, on the offline laptop or a USB stick. It asks for a passphrase that encrypts the CA key; keep it, and note the SHA-256 fingerprint it prints.',
    commands: ['pocketca init'],
  },
  {
    step: 'Issue an identity for each device, in a directory of its own: a client writes NAME.p12, NAME.mobileconfig and NAME.pem (NAME.key.pem only with --keep-key), and the PKCS#12 password is shown once.',
    commands: ['mkdir -p ~/devices && cd ~/devices', 'pocketca issue alice-iphone'],
  },
  {
    step: 'Put it on the phone: share serves the file once on the LAN and prints a QR code; the phone must be on the same network. enroll asks the questions and does both steps.',
    commands: ['pocketca share alice-iphone.mobileconfig'],
  },
  {
    step: 'Give the reverse proxy a server certificate and a configuration that requires a client certificate from this CA, then copy the directory to the proxy (to /etc/pocketca by default) and reload it.',
    commands: [
      'pocketca issue cloud --profile server --dns cloud.home.arpa',
      'pocketca proxy nginx --upstream http://127.0.0.1:8080 \\',
      '    --cert cloud.pem --key cloud.key.pem --out-dir to-proxy',
    ],
  },
  {
    step: 'When a phone is lost, revoke it: the CRL is re-signed in the same run. Copy the new crl.pem to the proxy and reload it; doctor --deployed-crl tells whether a copy has every revocation.',
    commands: ['pocketca revoke alice-iphone --reason keyCompromise', 'pocketca doctor --deployed-crl /etc/pocketca/crl.pem'],
  },
  {
    step: 'Keep a backup away from the laptop, and sign a new CRL before the current one expires (365 days by default; doctor counts the days), since the proxies then refuse every client.',
    commands: ['pocketca backup /media/usb/pocketca-$(date +%F).backup', 'pocketca crl'],
  },
];

function workflow(): string[] {
  return WORKFLOW.flatMap((w, i) => [`.IP ${i + 1}. 4`, roff(w.step), '.sp', '.RS 6', '.nf', ...w.commands.map(roff), '.fi', '.RE']);
}

/** EXIT STATUS: the codes every command shares, then each command whose own differ. */
function exitStatus(m: ProgramModel): string[] {
  const common = EXIT_CODES.trim();
  const own = m.commands.flatMap((c) => {
    const { exitCodes } = splitExitCodes(c.details);
    if (!exitCodes || exitCodes === common) return [];
    const lines = exitCodes.split('\n').slice(1).map((l) => roff(l.trim().replace(/^(\d+) +/, '$1: ')));
    return [`.TP\n.B ${m.name} ${c.name}`, lines.join('\n.br\n')];
  });
  return [
    '.SH EXIT STATUS',
    'Every command exits with one of:',
    '.TP\n.B 0\nsuccess',
    '.TP\n.B 1\nthe operation failed (wrong passphrase, unknown serial, CA exists, a check failed)',
    '.TP\n.B 2\nbad usage or bad input (unknown flag, invalid name, malformed CSR, unreadable file)',
    '.TP\n.B 70\nan internal error (a bug: re\\-run with POCKETCA_DEBUG=1 and report it)',
    '.PP',
    'Errors are one line, \\fBerror:\\fR and what is wrong, then, where it helps, one \\fBhint:\\fR line with what to do.',
    ...(own.length ? ['.PP', 'These commands say more about theirs:', ...own] : []),
  ];
}

export function manPage(m: ProgramModel): string {
  const name = m.name.toUpperCase();
  return [
    `.\\" ${m.name}(1), made by \`npm run man\` from the program's command definitions; do not edit.`,
    `.TH ${name} 1 "" "${m.name} ${m.version}" "User Commands"`,
    // Ragged right: option lists such as a|b|c leave nothing to stretch in a justified line.
    '.ad l',
    // No hyphenation: options and file names (--deployed-crl, ca.key.pem) must read as typed.
    '.nh',
    '.SH NAME',
    `${m.name} \\- ${roff(m.description.replace(/\.$/, '').replace(/^A /, 'a '))}`,
    '.SH SYNOPSIS',
    `.B ${m.name}`,
    '[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
    roff(m.description),
    '.PP',
    roff(
      'pocketca is for people who protect their own web services (Nextcloud, Home Assistant, a CI server, an MQTT broker, an admin page) with TLS client certificates at a reverse proxy, and want their phones to carry those certificates. The CA lives on an offline laptop or a USB stick: it issues PKCS#12 files and iOS profiles for devices, signs CSRs, records every certificate in SQLite, revokes and re-signs the CRL, shares a file with a phone through a one-time link and a QR code, and writes nginx, Apache and Mosquitto configurations that require its certificates.',
    ),
    '.PP',
    roff(
      'The CA lives in its home directory (--home, else $POCKETCA_HOME, else ~/.pocketca), its key encrypted under a passphrase. No secret is ever taken from the command line: the passphrase comes from --passphrase-file, $POCKETCA_PASSPHRASE or a prompt.',
    ),
    '.PP',
    `Run \\fB${m.name} \\fIcommand\\fB \\-\\-help\\fR for one command's help; it is the text of its section below.`,
    '.SH WORKFLOW',
    ...workflow(),
    '.SH GLOBAL OPTIONS',
    'Accepted by every command.',
    ...m.globalOptions.map(option),
    '.SH COMMANDS',
    ...m.commands.map((c) => command(m, c)),
    ...exitStatus(m),
    '.SH ENVIRONMENT',
    '.TP\n.B POCKETCA_HOME\nthe CA home when \\-\\-home is not given (else ~/.pocketca)',
    '.TP\n.B POCKETCA_PASSPHRASE\nthe CA passphrase, when \\-\\-passphrase\\-file is not given',
    '.TP\n.B POCKETCA_P12_PASSWORD\nthe PKCS#12 password, when \\-\\-p12\\-password\\-file is not given (else one is generated and shown once)',
    '.TP\n.B POCKETCA_DEBUG\n1 prints stack traces with errors',
    '.TP\n.B NO_COLOR\nno colours in output, as \\-\\-no\\-color',
    '.SH FILES',
    '.TP\n.I ~/.pocketca/\nthe CA home (mode 0700): pocketca.db, ca.key.pem (encrypted), ca.pem, bundle.pem, crl.pem',
    '.SH SEE ALSO',
    '.BR openssl (1),',
    '.BR nginx (8),',
    '.BR apache2 (8),',
    '.BR mosquitto (8)',
    '.PP',
    'The manual, one page per task (a phone, a server and its proxy, backups, an online issuing CA...), is in the package\'s docs directory: docs/README.md.',
    '',
  ].join('\n');
}
