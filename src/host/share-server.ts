/**
 * `pocketca share FILE`: serve one file to a phone on the LAN, once, at an
 * unguessable URL, then stop.
 *
 * Why plain HTTP: the phone does not trust this CA until the profile that
 * carries the root is installed, so an HTTPS server with a pocketca
 * certificate would fail the very download that fixes that. What stands in
 * for TLS: the path is a 144-bit random token (guessing it is hopeless), the
 * link dies after --max-downloads successful downloads or --ttl, whichever
 * comes first, and the PKCS#12 inside is encrypted under a password that is
 * never part of the URL or the QR code. Someone on the LAN who sniffs the
 * download gets ciphertext and a spent link.
 *
 * Every other request gets 404, whatever it is: the server compares the whole
 * request-target with "/" + token in constant time and never maps a path to
 * the file system, so there is no traversal to get right.
 *
 * A browser (its request accepts text/html) gets a page at the link instead
 * of the file: the device's name, the steps on it, the CA's fingerprint and
 * a download link to "/" + token + "/download" (src/formats/landing-page.ts).
 * Viewing the page spends nothing; the download does. Any other client (curl,
 * a script, the device's own profile and SCEP requests) gets the file at the
 * link exactly as before.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { OperationFailedError, ShareExpiredError, UsageError } from '../errors';
import { describeDeviceFile, type DeviceFile } from '../formats/device-file';
import { platformFromUserAgent } from '../formats/device-steps';
import { renderLandingPage } from '../formats/landing-page';
import { readFileBounded } from './files';

/** Largest file `share` serves; profiles and PKCS#12 files are a few kilobytes. */
export const MAX_SHARE_BYTES = 10 * 1024 * 1024;
/** Random bytes in the URL token: 144 bits, 24 base64url characters (no padding). */
export const TOKEN_BYTES = 18;
export const DEFAULT_TTL_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_DOWNLOADS = 1;

/**
 * Content types by extension. `application/x-apple-aspen-config` is what makes
 * iOS Safari hand a profile to Settings ("Profile Downloaded"); Android's
 * certificate installer recognises the PKCS#12 and X.509 types.
 */
const CONTENT_TYPES: Record<string, string> = {
  '.mobileconfig': 'application/x-apple-aspen-config',
  '.p12': 'application/x-pkcs12',
  '.pfx': 'application/x-pkcs12',
  '.pem': 'application/x-x509-ca-cert',
  '.crt': 'application/x-x509-ca-cert',
  '.cer': 'application/x-x509-ca-cert',
  // RFC 5545 §8.1: the charset parameter says how the text is encoded (UTF-8 always, for pocketca's).
  '.ics': 'text/calendar; charset=utf-8',
};

export function contentTypeFor(fileName: string): string {
  return CONTENT_TYPES[extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file name for Content-Disposition: the basename reduced to letters,
 * digits, `.`, `_`, `-` (no quote, backslash, CR or LF can reach the header,
 * no leading dot to make a hidden file on the phone).
 */
export function safeDownloadName(path: string): string {
  const name = basename(path)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(-100);
  return name || 'download';
}

/**
 * The request path as it may appear in the log: the token replaced by
 * `<token>`, anything else that looks like one (a run of 16 or more base64url
 * characters: a mistyped token would give most of the real one away) by
 * `<redacted>`, non-printable bytes escaped, and long paths cut.
 */
export function redactPath(path: string, token: string): string {
  const shown = path
    .split(token)
    .join('\u0000')
    .replace(/[A-Za-z0-9_-]{16,}/g, '<redacted>')
    .replace(/\u0000/g, '<token>')
    .replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
  return shown.length > 200 ? shown.slice(0, 200) + '...' : shown;
}

/**
 * True when an Accept header asks for text/html (RFC 9110 §12.5.1: a media
 * range `text/html` with a quality above 0). `*` wildcards do not count:
 * curl sends `*\/*` and must get the file.
 */
export function acceptsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept
    .slice(0, 2048)
    .split(',')
    .some((range) => {
      const [type, ...params] = range.split(';').map((s) => s.trim().toLowerCase());
      if (type !== 'text/html') return false;
      const q = params.find((param) => /^q\s*=/.test(param));
      return q === undefined || Number(q.replace(/^q\s*=\s*/, '')) > 0;
    });
}

export interface LanAddresses {
  /** The address to put in the URL, or undefined when the host has no LAN address. */
  primary: string | undefined;
  /** Other candidate addresses, for the user to pick with --bind. */
  others: string[];
}

/**
 * The host's IPv4 LAN addresses in the order the system lists them: not
 * loopback, not link-local (169.254/16: a phone joins that only without DHCP).
 */
export function lanAddresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): LanAddresses {
  const found: string[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      // Node 18.0-18.3 reported family as the number 4.
      const v4 = info.family === 'IPv4' || (info.family as unknown) === 4;
      if (v4 && !info.internal && !info.address.startsWith('169.254.') && !found.includes(info.address)) found.push(info.address);
    }
  }
  return { primary: found[0], others: found.slice(1) };
}

export function urlHost(address: string): string {
  // RFC 3986 section 3.2.2: IPv6 literals in brackets; RFC 6874: a zone's '%' as %25.
  return isIP(address) === 6 ? `[${address.replace('%', '%25')}]` : address;
}

const isUnspecified = (address: string) => address === '0.0.0.0' || address === '::';
const remoteAddressOf = (req: IncomingMessage): string => (req.socket.remoteAddress ?? '?').replace(/^::ffff:/, '');

/**
 * Content made once the URL is known (`scep` writes its profile, which names
 * the URL): `load` runs after the server listens, before any request is
 * answered; what it throws stops the server and rejects startShare.
 */
export interface LateContent {
  /** The file the content is (or will be) saved as: its name is the download name. */
  path: string;
  load: (url: string) => Buffer;
}

/**
 * A second handler on the same server (STYLE "One HTTP-serving mechanism"):
 * it answers `/<token><path>` (with any query) by GET and POST, under the
 * same token rules, time and size bounds and log. With a handler, downloads
 * do not end the share; the handler does, through its control. A handler
 * that throws gets its client a 500 and the share goes on: no request ends it.
 */
export interface ShareHandler {
  /** The path under the token, e.g. '/scep'. */
  path: string;
  /** Largest request body; a larger one gets 413 unread. */
  maxBodyBytes: number;
  handle(request: HandlerRequest, control: ShareControl): HandlerResponse | Promise<HandlerResponse>;
}

export interface HandlerRequest {
  method: 'GET' | 'POST';
  query: URLSearchParams;
  body: Buffer;
  /** The client's address, as the request log shows it. */
  remoteAddress: string;
}

export interface HandlerResponse {
  status: number;
  contentType: string;
  body: Buffer;
  /** A word for the request log (never a secret). */
  note?: string;
  /** Called when the body was sent in full. */
  onSent?: () => void;
}

export interface ShareControl {
  /** End the share with success (`done` resolves). */
  finish(): void;
  /** End the share with this error (`done` rejects). */
  fail(error: Error): void;
}

export interface ShareParams {
  /** The file to serve; read once, at start (or content made once the URL is known). */
  file: string | LateContent;
  /** A handler for `/<token><handler.path>`; default none. */
  handler?: ShareHandler;
  /** Address to listen on; default 0.0.0.0, every IPv4 interface (the URL names an IPv4 LAN address). */
  bind?: string;
  /** TCP port; default 0, a free port the system picks. */
  port?: number;
  /** Successful downloads (GETs whose body was sent in full) after which it stops; default 1. */
  maxDownloads?: number;
  /** Milliseconds after which it stops if downloads remain; default 10 minutes. */
  ttlMs?: number;
  /** Randomness for the token. */
  randomBytes: (n: number) => Buffer;
  /** Clock for the request log. */
  now: () => Date;
  /** The host's interfaces; default os.networkInterfaces(). */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Called once for every request, when its response has ended. */
  onRequest?: (entry: ShareRequestLog) => void;
}

export interface ShareRequestLog {
  /** When the request arrived, ISO-8601 UTC. */
  time: string;
  remoteAddress: string;
  method: string;
  /** The path with the token redacted. */
  path: string;
  status: number;
  /** For a download: true when the whole body was sent. */
  completed?: boolean;
  /** Successful downloads so far. */
  downloads: number;
  /** What a handler said of the request. */
  note?: string;
}

export interface ShareOutcome {
  downloads: number;
}

export interface ShareSession {
  url: string;
  /** The address named in the URL. */
  host: string;
  port: number;
  /** The file as served: its path, download name, content type and size, and what it is to a device (its kind, the CA it carries). */
  file: { path: string; name: string; contentType: string; size: number; device: DeviceFile };
  maxDownloads: number;
  ttlMs: number;
  /** When the link stops working. */
  expiresAt: Date;
  /** Other LAN addresses of this host (the URL names the first). */
  otherAddresses: string[];
  /** Set when the URL had to fall back to 127.0.0.1: a phone cannot reach it. */
  noLanAddress: boolean;
  /** Resolves after the last allowed download; rejects with ShareExpiredError at the TTL. The server is closed either way. */
  done: Promise<ShareOutcome>;
  /** Stop serving now; `done` rejects with ShareExpiredError. */
  close(): void;
}

const SHARE_INPUT = { max: MAX_SHARE_BYTES, what: 'file', expected: 'share serves files up to 10 MiB: a .mobileconfig, .p12 or .pem is a few kilobytes' };

/** Constant-time comparison of a request-target with the one valid path (hashes make the lengths equal). */
function sameSecret(candidate: string, expected: Buffer): boolean {
  const digest = createHash('sha256').update(candidate, 'utf8').digest();
  return timingSafeEqual(digest, expected);
}

function listenError(error: NodeJS.ErrnoException, bind: string, port: number): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new OperationFailedError(`port ${port} is already in use`, 'choose another --port, or leave it out for a free one');
    case 'EADDRNOTAVAIL':
      return new UsageError(`${bind} is not an address of this machine`, 'pass one of its addresses to --bind (ip -brief address), or leave --bind out');
    case 'EACCES':
      return new OperationFailedError(`not allowed to listen on port ${port}`, 'use a port above 1023, or leave --port out for a free one');
    default:
      return new OperationFailedError(`cannot listen on ${bind}:${port}: ${error.code ?? error.message}`);
  }
}

export async function startShare(p: ShareParams): Promise<ShareSession> {
  const maxDownloads = p.maxDownloads ?? DEFAULT_MAX_DOWNLOADS;
  const ttlMs = p.ttlMs ?? DEFAULT_TTL_MS;
  if (!Number.isInteger(maxDownloads) || maxDownloads < 1) throw new UsageError('--max-downloads must be at least 1');
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new UsageError('--ttl must be positive');
  const bind = p.bind ?? '0.0.0.0';
  if (!isIP(bind)) throw new UsageError(`--bind needs an IP address, not ${JSON.stringify(bind)}`, 'for example --bind 192.168.1.10, or leave it out to listen on every interface');
  const port = p.port ?? 0;
  const lan = lanAddresses(p.interfaces ?? networkInterfaces());
  let host = bind;
  let noLanAddress = false;
  if (isUnspecified(bind)) {
    host = lan.primary ?? '127.0.0.1';
    noLanAddress = lan.primary === undefined;
  }
  const urlFor = (listening: Server) => `http://${urlHost(host)}:${(listening.address() as AddressInfo).port}/${token}`;

  const filePath = typeof p.file === 'string' ? p.file : p.file.path;
  let body = typeof p.file === 'string' ? readFileBounded(p.file, SHARE_INPUT) : Buffer.alloc(0);
  const name = safeDownloadName(filePath);
  const contentType = contentTypeFor(name);
  const token = p.randomBytes(TOKEN_BYTES).toString('base64url');
  const expected = createHash('sha256').update(`/${token}`, 'utf8').digest();
  // The landing page's download link: the file for any client, browsers included.
  const downloadPath = createHash('sha256').update(`/${token}/download`, 'utf8').digest();
  const handler = p.handler;
  const handlerPath = handler ? createHash('sha256').update(`/${token}${handler.path}`, 'utf8').digest() : undefined;

  let device: DeviceFile = describeDeviceFile(name, body);
  let expiresAt = new Date(0);
  let reserved = 0; // downloads in flight or done; never more than maxDownloads
  let downloads = 0;
  let stopped = false;

  const server: Server = createServer();
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 1_000;

  let settle!: { resolve: (o: ShareOutcome) => void; reject: (e: Error) => void };
  const done = new Promise<ShareOutcome>((resolvePromise, reject) => (settle = { resolve: resolvePromise, reject }));
  // The caller awaits `done` after printing the URL; until then a rejection must not count as unhandled.
  done.catch(() => undefined);
  let ttlTimer: NodeJS.Timeout | undefined;

  const stop = (outcome: { ok: true } | { ok: false; error: Error }) => {
    if (stopped) return;
    stopped = true;
    if (ttlTimer) clearTimeout(ttlTimer);
    server.close(() => (outcome.ok ? settle.resolve({ downloads }) : settle.reject(outcome.error)));
    server.closeIdleConnections();
    // A client that keeps a connection open must not keep the process alive.
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  };

  const control: ShareControl = { finish: () => stop({ ok: true }), fail: (error) => stop({ ok: false, error }) };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const time = p.now().toISOString();
    const target = req.url ?? '';
    const method = req.method ?? '';
    const isPage = sameSecret(target, expected);
    const isLink = isPage || sameSecret(target, downloadPath);
    const queryAt = target.indexOf('?');
    const isHandler = handlerPath !== undefined && !isLink && sameSecret(queryAt < 0 ? target : target.slice(0, queryAt), handlerPath);
    const showPage = isPage && acceptsHtml(req.headers.accept);
    const isDownload = isLink && method === 'GET' && !showPage;
    let counted = false;
    let note: string | undefined;

    // Listeners first: nothing the response does below may happen before they are in place.
    let finished = false;
    res.on('finish', () => {
      finished = true;
      if (counted) downloads += 1;
    });
    res.on('close', () => {
      // A download cut off before its last byte frees its slot for a retry.
      if (counted && !finished) reserved -= 1;
      p.onRequest?.({
        time,
        remoteAddress: remoteAddressOf(req),
        method: method.slice(0, 16),
        path: redactPath(target, token),
        status: res.statusCode,
        ...(counted ? { completed: finished } : {}),
        downloads,
        ...(note !== undefined ? { note } : {}),
      });
      if (counted && finished && downloads >= maxDownloads && !handler) stop({ ok: true });
    });

    const common = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', Connection: 'close' };
    if (isHandler && handler && !stopped) {
      serveHandler(handler, req, res, common, control, (n) => (note = n));
    } else if (isLink && method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { ...common, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
    } else if (!isLink || stopped || reserved >= maxDownloads) {
      // A spent link looks like any wrong one: nothing to learn from the difference.
      res.writeHead(404, { ...common, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(method === 'HEAD' ? undefined : 'not found\n');
    } else if (showPage) {
      // Not a download: nothing reserved or counted, so the page may be opened again.
      note = 'page';
      const page = renderLandingPage({
        file: device,
        fileName: name,
        downloadPath: `/${token}/download`,
        platform: platformFromUserAgent(req.headers['user-agent']),
        downloadsLeft: maxDownloads - reserved,
        until: untilText(expiresAt),
      });
      res.writeHead(200, {
        ...common,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': String(page.html.length),
        'Content-Security-Policy': page.contentSecurityPolicy,
        'X-Frame-Options': 'DENY',
        Vary: 'Accept, User-Agent',
      });
      res.end(method === 'HEAD' ? undefined : page.html);
    } else {
      if (isDownload) {
        reserved += 1;
        counted = true;
      }
      res.writeHead(200, {
        ...common,
        'Content-Type': contentType,
        'Content-Length': String(body.length),
        'Content-Disposition': `attachment; filename="${name}"`,
      });
      res.end(method === 'HEAD' ? undefined : body);
    }
  };
  server.on('request', handle);

  await new Promise<void>((resolvePromise, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, bind, port));
    server.once('error', onError);
    server.listen(port, bind, () => {
      server.off('error', onError);
      resolvePromise();
    });
  });
  if (typeof p.file !== 'string') {
    try {
      body = p.file.load(urlFor(server));
      device = describeDeviceFile(name, body);
    } catch (error) {
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      throw error;
    }
  }
  // After listening, a server error (rare: EMFILE) ends the share instead of crashing the process.
  server.on('error', (error) => stop({ ok: false, error: new OperationFailedError(`the share server failed: ${error.message}`) }));

  const actualPort = (server.address() as AddressInfo).port;
  const url = urlFor(server);
  expiresAt = new Date(p.now().getTime() + ttlMs);

  const expire = (why: string) =>
    new ShareExpiredError(
      `${why} after ${downloads} of ${maxDownloads} download${maxDownloads === 1 ? '' : 's'}`,
      'run pocketca share again for a new link (a longer one with --ttl 30m)',
    );
  ttlTimer = setTimeout(() => stop({ ok: false, error: expire(`the link expired (--ttl ${formatDuration(ttlMs)})`) }), ttlMs);

  return {
    url,
    host,
    port: actualPort,
    file: { path: resolve(filePath), name, contentType, size: body.length, device },
    maxDownloads,
    ttlMs,
    expiresAt,
    otherAddresses: isUnspecified(bind) ? lan.others : [],
    noLanAddress,
    done,
    close: () => stop({ ok: false, error: expire('the link was closed') }),
  };
}

/**
 * Answer a handler request: GET or POST only, the body read up to the
 * handler's bound (413 beyond it, decided from Content-Length when given),
 * the handler's answer sent with the share's common headers.
 */
function serveHandler(
  handler: ShareHandler,
  req: IncomingMessage,
  res: ServerResponse,
  common: Record<string, string>,
  control: ShareControl,
  setNote: (note: string) => void,
): void {
  const plain = (status: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...common, ...extra, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
  };
  const method = req.method;
  if (method !== 'GET' && method !== 'POST') return plain(405, 'method not allowed', { Allow: 'GET, POST' });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(declared) || declared > handler.maxBodyBytes) {
    setNote('body too large');
    return plain(413, 'request body too large');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > handler.maxBodyBytes) {
      refused = true;
      setNote('body too large');
      plain(413, 'request body too large');
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    const queryAt = (req.url ?? '').indexOf('?');
    const query = new URLSearchParams(queryAt < 0 ? '' : (req.url ?? '').slice(queryAt + 1));
    Promise.resolve()
      .then(() => handler.handle({ method, query, body: Buffer.concat(chunks), remoteAddress: remoteAddressOf(req) }, control))
      .then(
        (answer) => {
          if (answer.note !== undefined) setNote(answer.note);
          if (answer.onSent) res.on('finish', answer.onSent);
          res.writeHead(answer.status, { ...common, 'Content-Type': answer.contentType, 'Content-Length': String(answer.body.length) });
          res.end(answer.body);
        },
        (error: Error) => {
          // Nothing of the error goes to the client, and the share goes on: no request may end it (a
          // handler ends it through its control). The log names the error's class, never its message.
          setNote(`internal error (${error instanceof Error ? error.name : typeof error})`);
          plain(500, 'internal error');
        },
      );
  });
}

/** When the link stops, for the page: the computer's local time, then UTC (SPEC "One voice"). */
function untilText(at: Date): string {
  return `${at.toTimeString().slice(0, 5)} (${at.toISOString().replace(/\.\d{3}Z$/, 'Z')})`;
}

/** 600000 -> "10m", 90000 -> "90s", 3600000 -> "1h". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
