import type { Command } from 'commander';
import { issueNextSteps } from '../device-steps';
import { p12PasswordFrom } from '../secrets';
import { EXIT_CODES, choice, collect, intOption, runtimeFor } from '../runtime';

export function registerIssue(program: Command): void {
  program
    .command('issue')
    .description('generate a key pair and certificate for a device (client) or a service (server)')
    .argument('<name>', 'letters, digits, . _ -; 1-64 characters; names the files and the record')
    .option('--profile <kind>', 'client or server', choice('--profile', ['client', 'server']), 'client')
    .option('--cn <cn>', 'subject common name (default: NAME)')
    .option('--email <addr>', 'rfc822Name SAN (repeatable)', collect, [])
    .option('--dns <name>', 'DNS SAN (repeatable; server needs one, or --ip)', collect, [])
    .option('--ip <addr>', 'IP address SAN (repeatable)', collect, [])
    .option('--days <n>', 'validity in days (default 365 client, 398 server; server at most 825)', intOption('--days', 1, 36500))
    .option('--key-type <type>', 'rsa (default) or ec (see the README for which devices take EC)')
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
  client: NAME.p12 (0600), NAME.mobileconfig (0600), NAME.pem; with --keep-key NAME.key.pem (0600)
  server: NAME.pem, NAME.key.pem (0600), NAME.fullchain.pem

Examples:
  pocketca issue alice-iphone
  pocketca issue laptop --p12-format modern --out-dir ~/certs
  pocketca issue sensor-1 --key-type ec
  pocketca issue cloud --profile server --dns cloud.home.arpa --ip 192.168.1.10
${EXIT_CODES}`,
    )
    .action(async (name: string, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
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
          `  subject      ${result.subject}`,
          `  expires      ${result.notAfter}`,
          ...Object.entries(result.files).map(([role, path]) => `  ${role.padEnd(12)} ${path}`),
        ];
        if (result.p12Password) lines.push('', `PKCS#12 password (shown once, write it down): ${result.p12Password}`);
        return lines.join('\n');
      }, result.p12Password);
      if (result.profile === 'client') out.note(issueNextSteps(result.files));
    });
}
