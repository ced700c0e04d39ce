/**
 * `pocketca proxy nginx|apache|mosquitto`: read the bundle, the CRL and the
 * given certificate and key, decide the names, generate the config (and the
 * WebSocket token's script), and with --out-dir write all of it, ready to copy
 * to the proxy's --install-dir. The WebSocket token's HMAC key is derived
 * from the CA key, so `--websocket-token` unlocks it; `--rotate-secret`
 * replaces the per-home salt of that derivation.
 */
import { createPrivateKey, createPublicKey, hkdfSync, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { UnreadableInputError, UsageError } from '../errors';
import { apacheVhostConfig, apacheWebsocketTokenScript } from '../formats/proxy-apache';
import { MOSQUITTO_USER, mosquittoListenerConfig } from '../formats/proxy-mosquitto';
import { localGroupId, shareWithGroup } from '../host/group-readable';
import { nginxInjectConfig, nginxServerConfig, nginxWebsocketTokenScript } from '../formats/proxy-nginx';
import {
  DEFAULT_WEBSOCKET_TOKEN_TTL,
  formatListen,
  isLoopback,
  parseListen,
  parseUpstream,
  parseWebsocketPath,
  type ListenAddress,
  type ProxyFiles,
  type Upstream,
} from '../formats/proxy-params';
import { OID } from '../formats/x509';
import { recordEvent } from '../store/events';
import { getSetting, setSetting, WEBSOCKET_SALT_SETTING } from '../store/settings';
import type { AppContext } from '../host/context';
import { CRL_WARNING_DAYS, crlStatus } from './crl-status';
import { PRIVATE, PUBLIC, readFileBounded } from '../host/files';
import { bundleOf, crlOf, pemCertificates, pemPrivateKey, proxyText } from '../host/output-kinds';
import { ensureOutputDir, resolveOutputDir, resolveOutputIn, writeOutput, type OutputDir, type OutputTarget } from '../host/output-target';
import { intermediatesOf, readIntermediateCrl, retiredIntermediatesOf, type Intermediate, type IntermediateCrl, type LeftOutCrl } from './intermediate-crls';
import { MAX_HOME_FILE_BYTES as MAX_CRL_FILE_BYTES } from '../host/limits';
import { unlockCaKey } from '../host/unlock';

export type ProxyKind = 'nginx' | 'apache' | 'mosquitto';

export interface ProxyConfigParams {
  kind: ProxyKind;
  /** server_name / ServerName; default the first DNS name of the certificate (inject: the upstream's host). */
  serverName?: string;
  /** PORT or ADDRESS:PORT; default 443 (nginx, apache), 8883 (mosquitto), 127.0.0.1:8080 (inject). */
  listen?: string;
  /** Where requests go (nginx, apache); https for the inject side. */
  upstream?: string;
  /** The proxy's own certificate (PEM, may carry the chain) and unencrypted key. */
  cert?: string;
  key?: string;
  /** nginx only: the client identity the local proxy presents instead of serving TLS. */
  injectCert?: string;
  injectKey?: string;
  /** Write the config and the files it names here; undefined: print the config. */
  outDir?: string;
  /** Where the files live on the proxy; default /etc/pocketca. */
  installDir?: string;
  /** Add the Safari WebSocket exception (nginx, apache). */
  websocketToken?: boolean;
  /** Where the exception applies (exact paths, or prefixes ending in /); default every path. */
  websocketPaths?: string[];
  /** The token's lifetime in seconds; default DEFAULT_WEBSOCKET_TOKEN_TTL. */
  websocketTokenTtl?: number;
  /** Make a new HMAC key first: every token issued so far stops working. */
  rotateSecret?: boolean;
  /** Replace files in outDir that an earlier `proxy` run did not write; default false. */
  force?: boolean;
  /** The intermediates' CRLs (PEM or DER), appended to the deployed crl.pem after the root's; default none. */
  crlFiles?: string[];
}

export interface ProxyConfigResult {
  kind: ProxyKind;
  mode: 'server' | 'inject';
  serverName: string;
  listen: string;
  upstream: string | null;
  installDir: string;
  websocketToken: { ttlSeconds: number; paths: string[]; secret: 'created' | 'rotated' | 'kept' } | null;
  crl: { nextUpdate: string | null; daysLeft: number | null };
  /** The --crl-files left out: CRLs of intermediates revoked or expired since (the root's CRL covers them). */
  crlFilesLeftOut: LeftOutCrl[];
  /** Paths written, by role (with outDir). */
  files: Record<string, string>;
  /** The config text when it was not written to a directory. */
  config?: string;
}

export const DEFAULT_INSTALL_DIR = '/etc/pocketca';
/** Random, per home, not secret by itself (the CA key is the secret): `--rotate-secret` replaces it. */
const SALT_SETTING = WEBSOCKET_SALT_SETTING;
const MIN_TTL = 60;
const MAX_TTL = 24 * 60 * 60;
const MAX_PEM_BYTES = 1024 * 1024;

/** Characters safe to put unquoted in nginx, Apache and Mosquitto configs. */
const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]*$/;
const SAFE_NAME = /^[A-Za-z0-9*][A-Za-z0-9.*-]{0,252}$/;

function readPemFile(path: string, what: string): string {
  return readFileBounded(path, { max: MAX_PEM_BYTES, what, expected: 'a PEM certificate or key is a few kilobytes' }).toString('latin1');
}

interface Identity {
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
}

/** A certificate and its unencrypted key, checked to belong together. */
function readIdentity(certPath: string, keyPath: string, flags: [string, string]): Identity {
  const certPem = readPemFile(certPath, flags[0]);
  const keyPem = readPemFile(keyPath, flags[1]);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new UnreadableInputError(`${flags[0]} ${certPath} holds no PEM certificate`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MISSING_PASSPHRASE') {
      throw new UsageError(`${flags[1]} ${keyPath} is encrypted; the proxy needs to read it unattended`, `decrypt a copy: openssl pkey -in ${keyPath} -out proxy.key.pem`);
    }
    throw new UnreadableInputError(`${flags[1]} ${keyPath} holds no PEM private key`);
  }
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(cert.publicKey))) {
    throw new UsageError(`${flags[1]} ${keyPath} is not the key of ${flags[0]} ${certPath}`);
  }
  return { certPem, keyPem, cert };
}

/** serverAuth, and anyExtendedKeyUsage (RFC 5280 §4.2.1.12), for which a TLS client also accepts a server. */
const SERVER_EKUS: readonly string[] = [OID.serverAuth, '2.5.29.37.0'];

/**
 * The proxy's --cert must be one a browser accepts for a server: a client
 * certificate (EKU clientAuth only) there makes every TLS client refuse the
 * proxy. No EKU extension at all means any use (RFC 5280 §4.2.1.12), as in
 * a plain `openssl req -x509` certificate: accepted.
 */
function checkServerCertificate(cert: X509Certificate, path: string): void {
  const ekus = cert.keyUsage; // Node's name for the extended key usages; undefined without the extension
  if (ekus === undefined || ekus.some((e) => SERVER_EKUS.includes(e))) return;
  const names = ekus.map((e) => Object.entries(OID).find(([, v]) => v === e)?.[0] ?? e).join(', ') || 'empty';
  throw new UsageError(
    `--cert ${path} is not a server certificate (extended key usage: ${names}); TLS clients would refuse the proxy`,
    'issue one for the proxy: pocketca issue NAME --profile server --dns HOST, then --cert NAME.pem --key NAME.key.pem',
  );
}

const firstDnsName = (cert: X509Certificate): string | undefined => /(?:^|, )DNS:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];

/** For file names: `*.home.arpa` -> `wildcard.home.arpa`. */
const fileStemOf = (name: string): string => name.replace(/^\*/, 'wildcard').replace(/[^A-Za-z0-9._-]/g, '_');

function checkName(name: string): string {
  if (!SAFE_NAME.test(name)) {
    throw new UsageError(`--server-name ${JSON.stringify(name)} is not a host name`, 'for example --server-name cloud.home.arpa');
  }
  return name;
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < MIN_TTL || ttl > MAX_TTL) {
    throw new UsageError(`--websocket-token-ttl must be from ${MIN_TTL / 60}m to ${MAX_TTL / 3600}h`);
  }
  return ttl;
}

function need<T>(value: T | undefined, flag: string, hint: string): T {
  if (value === undefined) throw new UsageError(`${flag} is required`, hint);
  return value;
}

/**
 * The WebSocket token's HMAC key for one server name: HKDF-SHA256 (RFC 5869)
 * over the CA private key (PKCS#8 DER), with the home's salt and the server
 * name in the info. Nothing usable without the CA passphrase is stored (issue
 * 9: the key used to sit in plain text in pocketca.db, and so in backups), and
 * a proxy's file holds the key of its own server name only: it cannot mint
 * cookies for another proxy of the same CA.
 */
export function deriveWebsocketTokenKey(caKey: KeyObject, salt: Buffer, serverName: string): string {
  const ikm = caKey.export({ type: 'pkcs8', format: 'der' });
  try {
    return Buffer.from(hkdfSync('sha256', ikm, salt, `pocketca websocket token v2|${serverName}`, 32)).toString('hex');
  } finally {
    ikm.fill(0);
  }
}

/** The derivation's salt, made on first use; replaced on request (every earlier cookie stops working). */
function websocketSalt(ctx: AppContext, rotate: boolean): { salt: Buffer; state: 'created' | 'rotated' | 'kept' } {
  const db = ctx.home.database();
  return db
    .transaction(() => {
      const existing = getSetting(db, SALT_SETTING);
      if (existing && !rotate) return { salt: Buffer.from(existing, 'hex'), state: 'kept' as const };
      const salt = ctx.randomBytes(32);
      setSetting(db, SALT_SETTING, salt.toString('hex'));
      const state = existing ? ('rotated' as const) : ('created' as const);
      recordEvent(db, { at: ctx.now().toISOString(), command: 'proxy', outcome: 'ok', detail: `websocket token key ${state}` });
      return { salt, state };
    })
    .immediate();
}

interface Plan {
  mode: 'server' | 'inject';
  serverName: string;
  listen: ListenAddress;
  upstream?: Upstream;
  identity: Identity;
  /** Where the identity's files go, by name in the install dir. */
  certFile: string;
  keyFile: string;
  configFile: string;
}

function plan(ctx: AppContext, p: ProxyConfigParams): Plan {
  const inject = p.injectCert !== undefined || p.injectKey !== undefined;
  if (inject) {
    if (p.kind !== 'nginx') throw new UsageError('--inject-cert and --inject-key are for `proxy nginx` only');
    if (p.cert || p.key || p.websocketToken) throw new UsageError('--inject-cert/--inject-key make a client-side proxy: it takes no --cert, --key or --websocket-token');
    const hint = 'the inject side needs a client identity: pocketca issue NAME --keep-key, then --inject-cert NAME.pem --inject-key NAME.key.pem';
    const identity = readIdentity(need(p.injectCert, '--inject-cert', hint), need(p.injectKey, '--inject-key', hint), ['--inject-cert', '--inject-key']);
    const upstream = parseUpstream(need(p.upstream, '--upstream', 'the https URL of the service protected by this CA, e.g. --upstream https://cloud.home.arpa'));
    if (upstream.scheme !== 'https') throw new UsageError('--upstream must be https:// for --inject-cert: the identity is presented over TLS');
    const ca = ctx.home.caCertificate();
    if (!identity.cert.checkIssued(ca.x509) || !identity.cert.verify(ca.publicKey)) {
      ctx.warn(`${p.injectCert} was not issued by this CA; an upstream that trusts only this CA will refuse it`);
    }
    const serverName = checkName(p.serverName ?? upstream.hostname);
    const listen = parseListen(p.listen ?? '127.0.0.1:8080');
    if (!isLoopback(listen)) ctx.warn(`--listen ${formatListen(listen)} is not a loopback address: anyone who can reach it acts with this identity`);
    const stem = `inject-${fileStemOf(serverName)}`;
    return { mode: 'inject', serverName, listen, upstream, identity, certFile: `${stem}.pem`, keyFile: `${stem}.key.pem`, configFile: `nginx-${stem}.conf` };
  }
  const hint = 'the proxy needs its own server certificate: pocketca issue proxy --profile server --dns NAME, then --cert proxy.pem --key proxy.key.pem';
  const identity = readIdentity(need(p.cert, '--cert', hint), need(p.key, '--key', hint), ['--cert', '--key']);
  checkServerCertificate(identity.cert, p.cert!);
  let upstream: Upstream | undefined;
  if (p.kind === 'mosquitto') {
    if (p.upstream) throw new UsageError('`proxy mosquitto` takes no --upstream: the broker itself serves the clients');
    if (p.websocketToken) throw new UsageError('--websocket-token is for nginx and apache');
  } else {
    upstream = parseUpstream(need(p.upstream, '--upstream', 'the service behind the proxy, e.g. --upstream http://127.0.0.1:8123'));
  }
  const named = p.serverName ?? firstDnsName(identity.cert);
  const serverName = checkName(need(named, '--server-name', `${p.cert} has no DNS name to take it from`));
  const listen = parseListen(p.listen ?? (p.kind === 'mosquitto' ? '8883' : '443'));
  const stem = fileStemOf(serverName);
  return { mode: 'server', serverName, listen, upstream, identity, certFile: `${stem}.pem`, keyFile: `${stem}.key.pem`, configFile: `${p.kind}-${stem}.conf` };
}

/**
 * Debian's mosquitto reads its key as user mosquitto (src/formats/proxy-mosquitto.ts):
 * where that group exists here (pocketca runs on the broker), the key is
 * written 0640 group mosquitto, usable in place. Elsewhere it stays 0600 and
 * the config's header says how to install it.
 */
function shareKeyWithMosquitto(ctx: AppContext, keyPath: string, installDir: string): void {
  const gid = localGroupId(MOSQUITTO_USER);
  if (gid === undefined || shareWithGroup(keyPath, gid)) return;
  ctx.warn(
    `${keyPath} stays 0600: this user may not give it to group ${MOSQUITTO_USER}, and mosquitto reads it as user ${MOSQUITTO_USER}; ` +
      `install it with \`sudo install -m 0640 -g ${MOSQUITTO_USER} ${keyPath} ${installDir}/\``,
  );
}

/** The WebSocket token's script file, named after the config. */
const websocketScriptName = (configFile: string, kind: ProxyKind): string => `${configFile.replace(/\.conf$/, '')}-websocket-token.${kind === 'nginx' ? 'js' : 'lua'}`;

/**
 * The files of --out-dir, resolved by the output rule before anything is
 * recorded (the token's key is made or rotated in the database): each may
 * replace only what an earlier `proxy` run wrote under that name.
 */
class ProxyOutputs {
  private readonly targets = new Map<string, OutputTarget>();
  constructor(
    private readonly ctx: AppContext,
    private readonly dir: OutputDir,
    private readonly force: boolean,
  ) {}

  resolve(role: string, name: string): OutputTarget {
    let target = this.targets.get(name);
    if (!target) {
      const ca = this.ctx.home.caCertificate();
      const kinds: Record<string, [string, (b: Buffer) => boolean]> = {
        bundle: ['a certificate bundle of this CA', bundleOf(ca)],
        crl: ['a CRL of this CA', crlOf(ca)],
        cert: ['a PEM certificate', pemCertificates],
        key: ['a PEM private key', pemPrivateKey],
      };
      const [what, sameKind] = kinds[role] ?? ['a file an earlier `pocketca proxy` wrote', proxyText];
      target = resolveOutputIn(this.ctx.home.dir, this.dir, name, { flag: '--out-dir', what, sameKind, force: this.force });
      this.targets.set(name, target);
    }
    return target;
  }

  write(role: string, name: string, data: string, mode: number): string {
    const target = this.resolve(role, name);
    // The directory holds the proxy's key (0600): a new one is 0755 like /etc/pocketca, for the copy.
    ensureOutputDir(this.dir, 0o755);
    writeOutput(target, data, mode);
    return target.path;
  }

  /** Whether `name` was written as a regular file (not through a device or a FIFO). */
  isRegularFile(name: string): boolean {
    return this.targets.get(name)?.kind === 'file';
  }
}

/**
 * The `--crl-file`s, each checked to be a live CRL of a valid intermediate,
 * and a warning for each valid intermediate left without one: nginx and
 * Apache would refuse every leaf of it (src/app/intermediate-crls.ts).
 */
function readIntermediateCrls(ctx: AppContext, paths: string[], now: Date): { intermediates: Intermediate[]; crls: IntermediateCrl[]; leftOut: LeftOutCrl[] } {
  const intermediates = intermediatesOf(ctx.home.database(), now);
  const retired = paths.length > 0 ? retiredIntermediatesOf(ctx.home.database(), now) : [];
  const crls: IntermediateCrl[] = [];
  const leftOut: LeftOutCrl[] = [];
  for (const path of paths) {
    const bytes = readFileBounded(path, { max: MAX_CRL_FILE_BYTES, what: '--crl-file', expected: 'that is not a CRL' });
    const read = readIntermediateCrl(bytes, path, intermediates, now, retired);
    if ('crl' in read) crls.push(read);
    else leftOut.push(read);
  }
  for (const i of intermediates) {
    if (!crls.some((c) => c.intermediate.serial === i.serial)) {
      ctx.warn(`no --crl-file for the intermediate ${i.name} (${i.serial}): nginx and Apache refuse every certificate it issued until its CRL is deployed too`);
    }
  }
  return { intermediates, crls, leftOut };
}

export async function generateProxyConfig(ctx: AppContext, p: ProxyConfigParams): Promise<ProxyConfigResult> {
  const outDir = p.outDir === undefined ? undefined : new ProxyOutputs(ctx, resolveOutputDir(ctx.home.dir, p.outDir, '--out-dir'), Boolean(p.force));
  const installDir = p.installDir ?? DEFAULT_INSTALL_DIR;
  if (!SAFE_PATH.test(installDir)) {
    throw new UsageError(`--install-dir ${JSON.stringify(installDir)} must be an absolute path of letters, digits and . _ / @ + -`);
  }
  if (p.rotateSecret && !p.websocketToken) throw new UsageError('--rotate-secret goes with --websocket-token');
  if (p.websocketPaths?.length && !p.websocketToken) throw new UsageError('--websocket-path goes with --websocket-token');
  const websocketPaths = [...new Set((p.websocketPaths ?? []).map(parseWebsocketPath))];
  if (p.websocketToken && !p.outDir) {
    throw new UsageError('--websocket-token needs --out-dir', 'the token needs a second file and the config holds a secret: both are written to a directory, 0600 where secret');
  }
  const ttl = checkTtl(p.websocketTokenTtl ?? DEFAULT_WEBSOCKET_TOKEN_TTL);
  const x = plan(ctx, p);
  if (outDir) {
    for (const [role, name] of [['config', x.configFile], ['bundle', 'bundle.pem'], ['crl', 'crl.pem'], ['cert', x.certFile], ['key', x.keyFile]]) outDir.resolve(role!, name!);
    if (p.websocketToken && p.kind !== 'mosquitto') outDir.resolve('script', websocketScriptName(x.configFile, p.kind));
  }

  const now = ctx.now();
  const ca = ctx.home.caCertificate();
  const crl = crlStatus(ctx.home.crlPath, ca, now);
  if (typeof crl === 'string') throw new UnreadableInputError(crl, 'sign a new CRL with `pocketca crl`');
  if (!crl.signedByCa) throw new UsageError(`${ctx.home.crlPath} is not signed by this CA`, 'sign a new CRL with `pocketca crl`');
  if (crl.expired) ctx.warn(`the CRL expired ${crl.nextUpdate}: the proxy will refuse every client until you run \`pocketca crl\` and publish again`);
  else if (crl.daysLeft !== null && crl.daysLeft < CRL_WARNING_DAYS) {
    ctx.warn(`the CRL expires in ${crl.daysLeft} days (${crl.nextUpdate}): run \`pocketca crl\` and publish again before then`);
  }

  const intermediateCrls = readIntermediateCrls(ctx, p.crlFiles ?? [], now);
  // root -> intermediate -> leaf is depth 2 (nginx ssl_verify_depth, Apache SSLVerifyDepth).
  const verifyDepth = intermediateCrls.intermediates.length > 0 ? 2 : 1;

  const at = (name: string) => posix.join(installDir, name);
  const files: ProxyFiles = { bundle: at('bundle.pem'), crl: at('crl.pem'), cert: at(x.certFile), key: at(x.keyFile) };
  const crlNextUpdate = crl.nextUpdate ?? 'never';
  const outputs: { role: string; name: string; data: string; mode: number }[] = [];
  let token: ProxyConfigResult['websocketToken'] = null;
  let config: string;
  if (x.mode === 'inject') {
    config = nginxInjectConfig({ listen: x.listen, upstream: x.upstream!, serverName: x.serverName, files, crlNextUpdate });
  } else if (p.kind === 'mosquitto') {
    config = mosquittoListenerConfig({ listen: x.listen, files, crlNextUpdate, configFile: x.configFile });
  } else {
    let tokenParams: { script: string; secret: string } | undefined;
    if (p.websocketToken) {
      // Unlocked last, once everything else checked out; the salt changes only after a good passphrase.
      const caKey = await unlockCaKey(ctx, 'proxy');
      const { salt, state } = websocketSalt(ctx, Boolean(p.rotateSecret));
      const tokenName = x.serverName.toLowerCase();
      const secret = deriveWebsocketTokenKey(caKey, salt, tokenName);
      token = { ttlSeconds: ttl, paths: websocketPaths, secret: state };
      const script = websocketScriptName(x.configFile, p.kind);
      tokenParams = { script: at(script), secret };
      const scriptParams = { serverName: tokenName, ttlSeconds: ttl, paths: websocketPaths, crlFile: files.crl };
      // nginx reads the njs module as root at start, so it may hold the key (0600); Apache's
      // children load the Lua file as www-data, so it holds none and the key stays in the config.
      outputs.push(
        p.kind === 'nginx'
          ? { role: 'script', name: script, data: nginxWebsocketTokenScript({ ...scriptParams, secret }), mode: PRIVATE }
          : { role: 'script', name: script, data: apacheWebsocketTokenScript(scriptParams), mode: PUBLIC },
      );
    }
    const common = { serverName: x.serverName, listen: x.listen, upstream: x.upstream!, files, crlNextUpdate, verifyDepth };
    config =
      p.kind === 'nginx'
        ? nginxServerConfig({ ...common, websocketTokenScript: tokenParams?.script })
        : apacheVhostConfig({ ...common, websocketToken: tokenParams });
  }
  const configHoldsSecret = p.kind === 'apache' && token !== null;
  outputs.unshift(
    { role: 'config', name: x.configFile, data: config, mode: configHoldsSecret ? PRIVATE : PUBLIC },
    { role: 'bundle', name: 'bundle.pem', data: readFileSync(ctx.home.bundlePath, 'latin1'), mode: PUBLIC },
    { role: 'crl', name: 'crl.pem', data: [readFileSync(ctx.home.crlPath, 'latin1'), ...intermediateCrls.crls.map((c) => c.pem)].join(''), mode: PUBLIC },
    { role: 'cert', name: x.certFile, data: x.identity.certPem, mode: PUBLIC },
    { role: 'key', name: x.keyFile, data: x.identity.keyPem, mode: PRIVATE },
  );

  const written: Record<string, string> = {};
  if (outDir) {
    for (const o of outputs) written[o.role] = outDir.write(o.role, o.name, o.data, o.mode);
    // Only a key written as a regular file is given to group mosquitto (never a device or a FIFO named so).
    if (p.kind === 'mosquitto' && outDir.isRegularFile(x.keyFile)) shareKeyWithMosquitto(ctx, written.key!, installDir);
  }
  return {
    kind: p.kind,
    mode: x.mode,
    serverName: x.serverName,
    listen: formatListen(x.listen),
    upstream: x.upstream ? `${x.upstream.origin}${x.upstream.path}` : null,
    installDir,
    websocketToken: token,
    crl: { nextUpdate: crl.nextUpdate, daysLeft: crl.daysLeft },
    crlFilesLeftOut: intermediateCrls.leftOut,
    files: written,
    ...(p.outDir ? {} : { config }),
  };
}
