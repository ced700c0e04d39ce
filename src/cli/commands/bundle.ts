import type { Command } from 'commander';
import { resolve } from 'node:path';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerBundle(program: Command): void {
  program
    .command('bundle')
    .description('write the CA bundle the proxy trusts (ssl_client_certificate, SSLCACertificateFile)')
    .option('--out <file>', 'write to FILE (default: stdout)')
    .addHelpText('after', `\nExamples:\n  pocketca bundle > /etc/nginx/pocketca-bundle.pem\n${EXIT_CODES}`)
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      ctx.home.caCertificate();
      const pem = ctx.home.caCertificatePem();
      if (opts.out) {
        const { writeFileAtomic, PUBLIC } = await import('../../app/files');
        writeFileAtomic(resolve(opts.out), pem, PUBLIC);
        out.result({ path: resolve(opts.out) }, () => `wrote the CA bundle to ${resolve(opts.out)}`);
      } else if (out.json) out.result({ pem }, () => '');
      else out.data(pem);
    });
}
