import type { Command } from 'commander';
import { EXIT_CODES, runtimeFor } from '../runtime';

export function registerBundle(program: Command): void {
  program
    .command('bundle')
    .description('write the CA bundle the proxy trusts (ssl_client_certificate, SSLCACertificateFile): the root, then every valid intermediate')
    .option('--out <file>', 'write to FILE (default: stdout)')
    .option('--force', 'replace --out FILE even when it is not a certificate bundle of this CA')
    .addHelpText('after', `\nExamples:\n  pocketca bundle > /etc/nginx/pocketca-bundle.pem\n${EXIT_CODES}`)
    .action(async (opts, command: Command) => {
      const { ctx, out } = runtimeFor(command);
      const ca = ctx.home.caCertificate();
      const { bundlePem } = await import('../../app/bundle');
      const pem = bundlePem(ctx);
      if (opts.out !== undefined && opts.out !== '-') {
        const { resolveOutput, writeOutput } = await import('../../host/output-target');
        const { bundleOf } = await import('../../host/output-kinds');
        const { PUBLIC } = await import('../../host/files');
        const target = resolveOutput(ctx.home.dir, opts.out, { flag: '--out', what: 'a certificate bundle of this CA', sameKind: bundleOf(ca), force: Boolean(opts.force) });
        writeOutput(target, pem, PUBLIC);
        out.result({ path: target.path }, () => `wrote the CA bundle to ${target.path}`);
      } else if (out.json) out.result({ pem }, () => '');
      else out.data(pem);
    });
}
