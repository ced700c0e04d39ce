import type { Command } from 'commander';
import { EXIT_CODES, choice, intOption, runtimeFor } from '../runtime';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create the root CA: encrypted key, certificate, database, CRL and bundle')
    .option('--name <cn>', 'the CA certificate\'s common name', 'pocketca Root CA')
    .option('--org <o>', 'organisation (O) in the CA\'s subject')
    .option('--country <cc>', 'two-letter country (C) in the CA\'s subject')
    .option('--key-type <type>', 'rsa (default) or ec')
    .option('--curve <curve>', 'EC curve: P-256 (default) or P-384; with --key-type ec')
    .option('--key-size <bits>', 'RSA key size: 2048, 3072 (default) or 4096', choice('--key-size', ['2048', '3072', '4096']))
    .option('--days <n>', 'validity of the CA certificate in days', intOption('--days', 1, 36500), 3650)
    .option('--crl-days <n>', 'validity of every CRL this CA signs (default 365)', intOption('--crl-days', 1, 3650))
    .option('--passphrase-file <file>', 'read the new CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText(
      'after',
      `
Examples:
  pocketca init --name "Home Root CA" --org Home
  pocketca init --home /media/usb/ca --passphrase-file ~/.ca-pass
  pocketca init --key-type ec --curve P-384   (an ECDSA root: signs with ECDSA-SHA384)
${EXIT_CODES}`,
    )
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts, 'create');
      const { initCa } = await import('../../app/init-ca');
      const { DEFAULT_CRL_DAYS } = await import('../../app/publish-crl');
      const result = await initCa(ctx, {
        name: opts.name,
        org: opts.org,
        country: opts.country,
        keyType: opts.keyType,
        curve: opts.curve,
        keySize: opts.keySize === undefined ? undefined : Number(opts.keySize),
        onKeyGeneration: (key) => out.note(`creating a CA in ${ctx.home.dir} (${key} key)...`),
        days: opts.days,
        crlDays: opts.crlDays ?? DEFAULT_CRL_DAYS,
      });
      out.result(result, () =>
        [
          `created CA "${result.subject}" in ${result.home}`,
          `  serial       ${result.serial}`,
          `  expires      ${result.notAfter}`,
          `  SHA-256      ${result.fingerprintSha256}`,
          `  bundle       ${ctx.home.bundlePath}`,
          `  CRL          ${ctx.home.crlPath}`,
        ].join('\n'),
      );
      out.note(`next: pocketca issue my-phone   (a client identity for a device)`);
    });
}
