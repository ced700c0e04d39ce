import type { Command } from 'commander';
import { fields } from '../layout';
import { EXIT_CODES, choice, collect, intOption, runtimeFor } from '../runtime';

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
    .option('--permit-dns <domain>', 'name constraint: the root vouches only for this domain and names under it (repeatable)', collect, [])
    .option('--permit-ip <cidr>', 'name constraint: only IP addresses in this network, e.g. 192.168.1.0/24 (repeatable)', collect, [])
    .option('--permit-email <domain>', 'name constraint: only e-mail addresses at this domain (repeatable)', collect, [])
    .option('--passphrase-file <file>', 'read the new CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText(
      'after',
      `
The root has pathLen 1, so it can sign one level of intermediate CAs
(\`pocketca sign --profile intermediate\`). With --permit-* it carries a critical
nameConstraints extension: OpenSSL, Go, Firefox and Chrome (since 112) then
refuse any certificate under it for other names, and issue/sign refuse them
first. A form given no tree (DNS or IP) is excluded altogether. mbedTLS (ESP32
MQTT clients) refuses critical nameConstraints: leave them off for such a CA.

Examples:
  pocketca init --name "Home Root CA" --org Home
  pocketca init --permit-dns home.arpa --permit-ip 192.168.1.0/24
  pocketca init --home /media/usb/ca --passphrase-file ~/.ca-pass
  pocketca init --key-type ec --curve P-384   # an ECDSA root (ECDSA-SHA384)
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
        permit: { dns: opts.permitDns, ip: opts.permitIp, email: opts.permitEmail },
      });
      out.result(result, () =>
        [
          `created CA "${result.subject}" in ${result.home}`,
          ...fields(
            [
              ['serial', result.serial],
              ['expires', result.notAfter],
              ['SHA-256', result.fingerprintSha256],
              ...(result.nameConstraints ? [['constraints', result.nameConstraints] as const] : []),
              ['bundle', ctx.home.bundlePath],
              ['CRL', ctx.home.crlPath],
            ],
            '  ',
          ),
        ].join('\n'),
      );
      out.note(
        [
          'next: pocketca issue my-phone   (a client identity for a device)',
          "then: pocketca remind   (the CRL's and every certificate's expiry, as reminders for a phone's calendar)",
        ].join('\n'),
      );
    });
}
