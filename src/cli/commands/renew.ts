import type { Command } from 'commander';
import { remindNote, serverRenewSteps, shellPath } from '../device-steps';
import { CSR_INPUT, readInput } from '../input';
import { p12PasswordFrom } from '../secrets';
import { fields } from '../layout';
import { EXIT_CODES, recordRef, choice, intOption, runtimeFor } from '../runtime';

export function registerRenew(program: Command): void {
  program
    .command('renew')
    .description('a new certificate for the same device and subject; the old one revoked as superseded')
    .argument('<serial|name>', 'a serial (or its first 8+ hex digits), or a name (renews its newest certificate and supersedes all its valid ones)', recordRef)
    .option('--keep-old', 'leave the old certificate valid until it expires (no revocation, no new CRL)')
    .option('--days <n>', "validity in days (default: the old certificate's)", intOption('--days', 1, 36500))
    .option('--csr <file>', 'for a certificate made by `sign`: the new CSR from the device (PEM, DER, or - for stdin)')
    .option('--out-dir <dir>', 'where to write the new files, replacing the old ones of the same name', '.')
    .option('--key-type <type>', "rsa or ec (default: the old key's)")
    .option('--curve <curve>', "EC curve: P-256 or P-384 (default: the old key's, else P-256)")
    .option('--key-size <bits>', "RSA key size: 2048, 3072 or 4096 (default: the old key's)", choice('--key-size', ['2048', '3072', '4096']))
    .option('--keep-key', "also write a client's NAME.key.pem (0600; default: when --out-dir has one)")
    .option('--no-mobileconfig', 'do not write NAME.mobileconfig')
    .option('--force', "replace files in --out-dir that are not the device's own earlier files")
    .option('--p12-format <format>', 'legacy (3DES/SHA-1 MAC, what iOS and macOS import) or modern (AES-256/SHA-256)', choice('--p12-format', ['legacy', 'modern']), 'legacy')
    .option('--profile-password', 'put the PKCS#12 password inside the .mobileconfig (installs without asking)')
    .option('--sign-profile', 'sign the .mobileconfig (CMS) with a profile-signing certificate of this CA')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .option('--p12-password-file <file>', 'read the PKCS#12 password from FILE (else $POCKETCA_P12_PASSWORD, else one is generated)')
    .addHelpText(
      'after',
      `
The new certificate keeps the name, profile, subject, SANs, validity length
and key type and size (or curve). A client gets a new .p12 and a
.mobileconfig with the same profile identifiers, so installing it on the
phone replaces the old profile. A server gets a new NAME.pem, NAME.key.pem
and NAME.fullchain.pem to install on the server. The old certificate is then
revoked (reason superseded) and the CRL re-signed: copy crl.pem to the proxy
once the device or server has the new certificate, or use --keep-old and
revoke it later. A certificate made by \`sign\` has its key on
the device: renew it with a new CSR from there (--csr FILE).

Examples:
  pocketca renew alice-iphone --out-dir ~/certs
  pocketca renew cloud --keep-old
  pocketca renew 4f2a...9c --csr sensor-1.csr
${EXIT_CODES}`,
    )
    .action(async (ref: string, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      const csr = opts.csr ? await readInput(opts.csr, CSR_INPUT) : undefined;
      const { renew } = await import('../../app/renew');
      const result = await renew(ctx, {
        ref,
        keepOld: Boolean(opts.keepOld),
        days: opts.days,
        csr,
        outDir: opts.outDir,
        keyType: opts.keyType,
        curve: opts.curve,
        keySize: opts.keySize ? Number(opts.keySize) : undefined,
        keepKey: opts.keepKey ? true : undefined,
        mobileconfig: opts.mobileconfig !== false,
        p12Format: opts.p12Format,
        profilePassword: Boolean(opts.profilePassword),
        signProfile: Boolean(opts.signProfile),
        p12Password: p12PasswordFrom(opts, ctx.warn),
        force: Boolean(opts.force),
      });
      out.result(result, () => {
        const lines = [
          `renewed ${result.name}: ${result.profile} certificate ${result.serial}`,
          ...fields(
            [
              ['subject', result.subject],
              ['expires', result.notAfter],
              ...Object.entries(result.files),
              ...result.replaced.map((r) =>
                opts.keepOld ? (['old one', `${r.serial}, still ${r.status} (--keep-old)`] as const) : (['replaces', `${r.serial}, now ${r.status}${r.reason ? ` (${r.reason})` : ''}`] as const),
              ),
            ],
            '  ',
            12,
          ),
        ];
        if (result.crlNumber !== undefined) lines.push(`signed CRL number ${result.crlNumber}: ${result.crlPath}`);
        if (result.p12Password) lines.push('', `PKCS#12 password (shown once, write it down): ${result.p12Password}`);
        return lines.join('\n');
      }, result.p12Password);
      // A server's new certificate and key go on the server; a device's, onto the device.
      const server = result.profile === 'server';
      const holder = server ? 'the server has the new certificate and key' : 'the device has the new certificate';
      if (server) out.note(serverRenewSteps(result.files));
      if (result.files.mobileconfig) out.note(`next: pocketca share ${shellPath(result.files.mobileconfig)}   (installing it replaces the old profile on the phone)`);
      if (result.crlNumber !== undefined) out.note(`copy ${result.crlPath} to the proxy and reload it once ${holder}`);
      if (opts.keepOld) out.note(`once ${holder}: ${result.replaced.map((r) => `pocketca revoke ${r.serial} --reason superseded`).join('; ')}`);
      out.note(remindNote('the new certificate', result.notAfter));
    });
}
