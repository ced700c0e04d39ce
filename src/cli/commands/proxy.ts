import type { Command } from 'commander';
import { APACHE_PUBLISH } from '../../formats/proxy-apache';
import { EXIT_CODES, choice, durationOption, runtimeFor } from '../runtime';

const RELOAD = { nginx: 'nginx -t && nginx -s reload', apache: `apachectl configtest && ${APACHE_PUBLISH}`, mosquitto: 'systemctl reload mosquitto   (SIGHUP: it re-reads certificates and the CRL)' };
const CONF_DIR = { nginx: '/etc/nginx/conf.d/', apache: '/etc/apache2/sites-available/ (then a2ensite it)', mosquitto: '/etc/mosquitto/conf.d/ (the key readable by group mosquitto: the commands are at the top of the .conf)' };

export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description('configuration for nginx, Apache or Mosquitto that requires a client certificate from this CA')
    .argument('<server>', 'nginx, apache or mosquitto', choice('<server>', ['nginx', 'apache', 'mosquitto'] as const))
    .option('--server-name <name>', "server_name / ServerName (default: the first DNS name of --cert; inject: the upstream's host)")
    .option('--listen <addr:port>', 'where the proxy listens (default 443; mosquitto 8883; inject 127.0.0.1:8080)')
    .option('--upstream <url>', 'where requests go, e.g. http://127.0.0.1:8123 (nginx, apache)')
    .option('--cert <file>', "the proxy's own server certificate (PEM; extended key usage serverAuth, or none)")
    .option('--key <file>', 'its private key (PEM, unencrypted)')
    .option('--out-dir <dir>', 'write the config, bundle.pem, crl.pem, the certificate and key there (else print the config)')
    .option('--force', 'replace files in --out-dir that an earlier `pocketca proxy` did not write')
    .option('--install-dir <dir>', 'where those files live on the proxy, as the config names them', '/etc/pocketca')
    .option('--websocket-token', "the Safari WebSocket exception: a signed cookie lets a certificate-less WebSocket upgrade through")
    .option('--websocket-path <path>', 'where the exception applies, e.g. /api/websocket; a path ending in / covers what is under it (repeatable; default every path)', (v: string, all: string[] = []) => [...all, v])
    .option('--websocket-token-ttl <duration>', 'how long a token lives: 30m, 12h (default 12h, at most 24h)', durationOption('--websocket-token-ttl'))
    .option('--rotate-secret', "make a new HMAC key for the token first (every token issued so far stops working)")
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt): --websocket-token derives its key from the CA key')
    .option('--crl-file <file>', "an intermediate's CRL, published by the online CA (PEM or DER): appended to the deployed crl.pem (repeatable)", (v: string, all: string[] = []) => [...all, v])
    .option('--inject-cert <file>', 'nginx: instead, a local plain-HTTP proxy presenting this client certificate to an https --upstream')
    .option('--inject-key <file>', 'the key of --inject-cert (PEM, unencrypted)')
    .addHelpText(
      'after',
      `
The config names every file under --install-dir. After a new CRL (revoke, crl),
copy crl.pem over (or run the same command again) and reload: nginx, Apache and
Mosquitto read the CRL only when they load their configuration, and refuse every
client once it has expired. With --websocket-token, nginx needs
worker_shutdown_timeout (the config's header says where) and Apache a restart,
not graceful, so that a revoked device's open WebSockets are closed too.
With intermediates (sign --profile intermediate) the configs verify chains of
depth 2, and each intermediate's CRL must be deployed too: give the online
CA's CRL with --crl-file, and run the command again whenever it re-publishes.
Once an intermediate is revoked (or has expired), its --crl-file is left out
with a note and the same command still works: the root's CRL then refuses
every certificate it issued.

Examples:
  pocketca proxy nginx --upstream http://127.0.0.1:8123 \\
      --cert cloud.pem --key cloud.key.pem --out-dir to-proxy
  pocketca proxy apache --upstream http://127.0.0.1:8123 \\
      --cert cloud.pem --key cloud.key.pem --out-dir to-proxy \\
      --websocket-token --websocket-path /api/websocket
  pocketca proxy mosquitto --cert broker.pem --key broker.key.pem \\
      --out-dir to-broker
  pocketca proxy nginx --inject-cert printer.pem --inject-key printer.key.pem \\
      --upstream https://cloud.home.arpa --listen 127.0.0.1:8080
${EXIT_CODES}`,
    )
    .action(async (kind: 'nginx' | 'apache' | 'mosquitto', opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      const { generateProxyConfig } = await import('../../app/proxy-config');
      const result = await generateProxyConfig(ctx, {
        kind,
        serverName: opts.serverName,
        listen: opts.listen,
        upstream: opts.upstream,
        cert: opts.cert,
        key: opts.key,
        injectCert: opts.injectCert,
        injectKey: opts.injectKey,
        outDir: opts.outDir,
        installDir: opts.installDir,
        websocketToken: Boolean(opts.websocketToken),
        websocketPaths: opts.websocketPath,
        websocketTokenTtl: opts.websocketTokenTtl === undefined ? undefined : Math.round(opts.websocketTokenTtl / 1000),
        rotateSecret: Boolean(opts.rotateSecret),
        force: Boolean(opts.force),
        crlFiles: opts.crlFile,
      });
      if (result.config !== undefined && !out.json) {
        out.data(result.config);
        out.note(`\nthe config expects bundle.pem, crl.pem and the certificate and key in ${result.installDir}; --out-dir writes them all`);
        return;
      }
      out.result(result, () =>
        [`${kind} config for ${result.serverName} (${result.mode}), files for ${result.installDir}:`, ...Object.entries(result.files).map(([role, path]) => `  ${role.padEnd(7)} ${path}`)].join('\n'),
      );
      for (const c of result.crlFilesLeftOut) {
        out.note(
          `note: --crl-file ${c.path} is the CRL of intermediate ${c.intermediate.name} (${c.intermediate.serial}), ${c.why} ${c.at}: left out of crl.pem; ` +
            (c.why === 'revoked' ? "the root's CRL lists the intermediate, so the proxy refuses every certificate it issued" : 'the proxy refuses every chain through an expired intermediate'),
        );
      }
      if (result.websocketToken?.secret === 'rotated') out.note('new WebSocket token key: tokens issued before stop working once the proxy reloads');
      out.note(`next: copy those files to ${result.installDir} on the proxy, the .conf into ${CONF_DIR[kind]}, then: ${RELOAD[kind]}`);
    });
}
