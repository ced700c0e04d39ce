import type { Command } from 'commander';
import type { AppContext } from '../../host/context';
import { UsageError } from '../../errors';
import type { Output } from '../output';
import { dirname } from 'node:path';
import { issueNextSteps, remindNote, serverNextSteps } from '../device-steps';
import { p12PasswordFrom } from '../secrets';
import { fields } from '../layout';
import { EXIT_CODES, choice, collect, intOption, runtimeFor } from '../runtime';

export function registerIssue(program: Command): void {
  program
    .command('issue')
    .description('generate a key pair and certificate for a device (client) or a service (server)')
    .argument('[name]', 'letters, digits, . _ -; 1-64 characters; names the files and the record')
    .option('--batch <file>', 'issue one identity per NAME in FILE (one a line; blank lines and # comments skipped), same flags for all')
    .option('--profile <kind>', 'client or server', choice('--profile', ['client', 'server']), 'client')
    .option('--cn <cn>', 'subject common name (default: NAME)')
    .option('--email <addr>', 'rfc822Name SAN (repeatable)', collect, [])
    .option('--dns <name>', 'DNS SAN (repeatable; server needs one, or --ip)', collect, [])
    .option('--ip <addr>', 'IP address SAN (repeatable)', collect, [])
    .option('--days <n>', 'validity in days (default 365 client, 398 server; server at most 825)', intOption('--days', 1, 36500))
    .option('--key-type <type>', 'rsa (default) or ec (docs/phone.md says which devices take EC)')
    .option('--curve <curve>', 'EC curve: P-256 (default) or P-384; with --key-type ec')
    .option('--key-size <bits>', 'RSA key size: 2048 (default), 3072 or 4096', choice('--key-size', ['2048', '3072', '4096']))
    .option('--out-dir <dir>', 'where to write the files', '.')
    .option('--keep-key', "also write a client's NAME.key.pem (0600)")
    .option('--no-mobileconfig', 'do not write NAME.mobileconfig')
    .option('--p12-format <format>', 'legacy (3DES/SHA-1 MAC, what iOS and macOS import) or modern (AES-256/SHA-256)', choice('--p12-format', ['legacy', 'modern']), 'legacy')
    .option('--profile-password', 'put the PKCS#12 password inside the .mobileconfig (installs without asking)')
    .option('--sign-profile', 'sign the .mobileconfig (CMS) with a profile-signing certificate of this CA')
    .option('--force', 'issue even when NAME has a valid certificate (else: pocketca renew NAME), and replace output files')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .option('--p12-password-file <file>', 'read the PKCS#12 password from FILE (else $POCKETCA_P12_PASSWORD, else one is generated)')
    .addHelpText(
      'after',
      `
Files written:
  client  NAME.p12 (0600), NAME.mobileconfig (0600), NAME.pem;
          with --keep-key also NAME.key.pem (0600)
  server  NAME.pem, NAME.key.pem (0600), NAME.fullchain.pem

Examples:
  pocketca issue alice-iphone
  pocketca issue laptop --p12-format modern --out-dir ~/certs
  pocketca issue sensor-1 --key-type ec
  pocketca issue cloud --profile server --dns cloud.home.arpa --ip 192.168.1.10
  pocketca issue --batch sensors.txt --key-type ec --out-dir ~/sensors
      (generated passwords go to ~/sensors/passwords.csv, 0600)
${EXIT_CODES}`,
    )
    .action(async (name: string | undefined, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      if (opts.batch !== undefined) {
        if (name !== undefined) throw new UsageError('give a NAME or --batch FILE, not both');
        if (opts.cn !== undefined) throw new UsageError('--cn cannot be given with --batch: each certificate\'s CN is its NAME');
        return issueBatchCommand(ctx, out, opts);
      }
      if (name === undefined) throw new UsageError('missing NAME', 'pocketca issue NAME, or pocketca issue --batch FILE');
      const { issueIdentity } = await import('../../app/issue-identity');
      const result = await issueIdentity(ctx, {
        name,
        profile: opts.profile,
        cn: opts.cn,
        email: opts.email,
        dns: opts.dns,
        ip: opts.ip,
        days: opts.days,
        keyType: opts.keyType,
        curve: opts.curve,
        keySize: opts.keySize === undefined ? undefined : Number(opts.keySize),
        outDir: opts.outDir,
        keepKey: Boolean(opts.keepKey),
        mobileconfig: opts.mobileconfig !== false,
        p12Format: opts.p12Format,
        profilePassword: Boolean(opts.profilePassword),
        signProfile: Boolean(opts.signProfile),
        p12Password: p12PasswordFrom(opts, ctx.warn),
        force: Boolean(opts.force),
      });
      out.result(result, () => {
        const lines = [
          `issued ${result.profile} certificate ${result.serial} for ${result.name}`,
          ...fields([['subject', result.subject], ['expires', result.notAfter], ...Object.entries(result.files)], '  ', 12),
        ];
        if (result.p12Password) lines.push('', `PKCS#12 password (shown once, write it down): ${result.p12Password}`);
        return lines.join('\n');
      }, result.p12Password);
      out.note(result.profile === 'client' ? issueNextSteps(result.files) : serverNextSteps(result.files));
      out.note(remindNote('it', result.notAfter));
    });
}

/** `issue --batch FILE`: passwords go to the CSV, never to stdout unless --json (SPEC "Many devices at once"). */
async function issueBatchCommand(ctx: AppContext, out: Output, opts: Record<string, unknown>): Promise<void> {
  const { issueBatch } = await import('../../app/issue-batch');
  const progress = process.stderr.isTTY && !out.options.quiet && !out.json;
  const result = await issueBatch(ctx, {
    batchFile: opts.batch as string,
    profile: opts.profile as 'client' | 'server',
    email: opts.email as string[],
    dns: opts.dns as string[],
    ip: opts.ip as string[],
    days: opts.days as number | undefined,
    keyType: opts.keyType as string | undefined,
    curve: opts.curve as string | undefined,
    keySize: opts.keySize === undefined ? undefined : Number(opts.keySize),
    outDir: opts.outDir as string,
    keepKey: Boolean(opts.keepKey),
    mobileconfig: opts.mobileconfig !== false,
    p12Format: opts.p12Format as 'legacy' | 'modern',
    profilePassword: Boolean(opts.profilePassword),
    signProfile: Boolean(opts.signProfile),
    p12Password: p12PasswordFrom(opts, ctx.warn),
    force: Boolean(opts.force),
    ...(progress ? { onProgress: (done: number, total: number, name: string) => out.progress(`issued ${done}/${total}: ${name}`) } : {}),
  });
  if (progress) out.progress('');
  if (out.json) return out.result(result.issued, () => '');
  // -q never hides where the generated secrets are: the CSV's path alone.
  if (out.options.quiet) {
    if (result.passwordsPath) out.data(result.passwordsPath + '\n');
    return;
  }
  const first = result.issued[0]!;
  out.result(result, () =>
    [
      `issued ${result.issued.length} ${first.profile} certificates in ${dirname(first.files.cert!)}`,
      ...result.issued.map((r) => `  ${r.name.padEnd(20)} ${r.serial}  expires ${r.notAfter}`),
      ...(result.passwordsPath ? ['', `PKCS#12 passwords (name,password; 0600): ${result.passwordsPath}`] : []),
    ].join('\n'),
  );
  if (first.profile === 'client') out.note(`next: pocketca share ${first.files.mobileconfig ?? first.files.p12}   (and so on for each device)`);
}
