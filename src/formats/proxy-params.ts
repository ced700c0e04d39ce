/**
 * What the proxy config generators (proxy-nginx.ts, proxy-apache.ts,
 * proxy-mosquitto.ts) share: the listen address and upstream URL they are
 * given, the identity headers they forward, the WebSocket token's cookie and
 * MAC input, and the comment block at the top of every generated file.
 */
import { UsageError } from '../errors';

export interface ListenAddress {
  /** An IPv4 address, a bracketed IPv6 address or a host name; undefined: every address. */
  host?: string;
  port: number;
}

/** `443`, `127.0.0.1:8443`, `[::1]:8443`, `localhost:8443`. */
export function parseListen(value: string): ListenAddress {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(`--listen ${JSON.stringify(value)} is not PORT or ADDRESS:PORT`, 'for example --listen 443 or --listen 127.0.0.1:8443');
  }
  return m[1] ? { host: m[1], port } : { port };
}

export const formatListen = (l: ListenAddress): string => (l.host ? `${l.host}:${l.port}` : String(l.port));

/** True for an address only this machine can reach. */
export const isLoopback = (l: ListenAddress): boolean => l.host !== undefined && /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(l.host);

export interface Upstream {
  scheme: 'http' | 'https';
  /** Host as it goes in a URL (IPv6 in brackets). */
  host: string;
  /** Host without brackets, for TLS name checks and SNI. */
  hostname: string;
  port: number;
  /** `http://host:port`, no path. */
  origin: string;
  /** The path prefix on the upstream, always starting and ending with `/`. */
  path: string;
}

export function parseUpstream(value: string): Upstream {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--upstream ${JSON.stringify(value)} is not a URL`, 'for example --upstream http://127.0.0.1:8123');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
    throw new UsageError(`--upstream ${JSON.stringify(value)} must be an http:// or https:// URL without credentials, query or fragment`);
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return { scheme, host: url.hostname, hostname: url.hostname.replace(/^\[|\]$/g, ''), port, origin: `${scheme}://${url.hostname}:${port}`, path };
}

/**
 * The headers that tell the upstream who the client is. The proxy always sets
 * them itself, so a client cannot send its own (a header of the same name from
 * the client is replaced or removed).
 */
export const IDENTITY_HEADERS = {
  /** Subject DN in RFC 2253 form, e.g. `CN=alice-iphone`. */
  subjectDn: 'X-SSL-Client-S-DN',
  /** Serial in uppercase hex, as nginx and Apache print it (`pocketca list` shows it lowercase). */
  serial: 'X-SSL-Client-Serial',
  /** `SUCCESS` for a verified certificate, `TOKEN` for a WebSocket upgrade let in by its cookie. */
  verify: 'X-SSL-Client-Verify',
} as const;

/**
 * The Safari WebSocket exception's cookie. The `__Host-` prefix makes the
 * browser refuse it unless it is Secure, Path=/ and without Domain, so a
 * sibling subdomain cannot plant one (RFC 6265bis §4.1.3.2).
 */
export const WEBSOCKET_COOKIE = '__Host-pocketca_ws';

/** Default lifetime of a WebSocket token, in seconds: renewed by any certificate request after half of it. */
export const DEFAULT_WEBSOCKET_TOKEN_TTL = 12 * 60 * 60;

/**
 * The bytes the token's HMAC-SHA256 covers: the version, the config's server
 * name (a cookie minted by one proxy is refused by a config for another), the
 * serial in lowercase hex without leading zeros and the expiry in Unix
 * seconds. The cookie's value is `<serial>.<expiry>.<hex mac>`; the key is the
 * hex text of the per-server-name key. The njs and Lua checkers build the same
 * string. Version 1 (issue 9) covered only serial and expiry.
 */
export const WEBSOCKET_TOKEN_VERSION = 'pocketca-ws-v2';
export const websocketTokenMessage = (serverName: string, serial: string, expiry: number): string =>
  `${WEBSOCKET_TOKEN_VERSION}|${serverName}|${serial}|${expiry}`;

/** What the njs and Lua token checkers are generated from. */
export interface WebsocketTokenScriptParams {
  /** The HMAC key for this server name, hex (the njs module embeds it; the Apache config passes it on its Require line). */
  secret: string;
  /** The config's server name, part of every MAC. */
  serverName: string;
  /** Token lifetime in seconds. */
  ttlSeconds: number;
  /** Where the exception applies (see parseWebsocketPath); empty: every path. */
  paths: readonly string[];
  /**
   * The deployed crl.pem (path on the proxy): read on every certificate-less
   * handshake, so a revoked device's cookie dies as soon as the new CRL is
   * copied there, without re-running `proxy`. Unreadable: every token is refused.
   */
  crlFile: string;
}

/**
 * `--websocket-path`: an absolute path matched against the request's
 * normalised path (nginx $uri, Apache r->uri): exactly, or, when it ends in
 * `/`, everything under it. Only characters that need no quoting in njs, Lua
 * or a config, and no `.`/`..` segments or `//` (the server normalises those
 * away before matching, so such a path would never match).
 */
export function parseWebsocketPath(value: string): string {
  const segments = value.split('/').slice(1);
  if (!/^\/[A-Za-z0-9._~@+/-]*$/.test(value) || segments.slice(0, -1).some((s) => s === '' || s === '.' || s === '..') || ['.', '..'].includes(segments.at(-1)!)) {
    throw new UsageError(
      `--websocket-path ${JSON.stringify(value)} is not an absolute path of letters, digits and . _ ~ @ + - /`,
      'for example --websocket-path /api/websocket (exactly that path) or --websocket-path /ws/ (everything under /ws/)',
    );
  }
  return value;
}

/** The files a proxy config names, as absolute paths on the proxy. */
export interface ProxyFiles {
  /** bundle.pem: the CA certificates the proxy trusts for clients. */
  bundle: string;
  /** crl.pem. */
  crl: string;
  /** The proxy's own certificate (or, for the inject side, the client certificate it presents). */
  cert: string;
  /** Its private key. */
  key: string;
}

/** `# ` before every line; blank lines stay `#`. */
export const commentBlock = (lines: readonly string[]): string => lines.map((l) => (l ? `# ${l}` : '#')).join('\n') + '\n';

/** A name usable in nginx variable and Apache provider names: `cloud.home.arpa` -> `cloud_home_arpa`. */
export const identifierOf = (name: string): string => name.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase() || 'default';

/** The comment lines every server config carries about the CRL. */
export function crlReminder(reload: string, crlNextUpdate: string): string[] {
  return [
    `After every new CRL (pocketca revoke, pocketca crl): copy crl.pem over the old one and run`,
    `\`${reload}\`: the server reads the CRL only when it loads its configuration.`,
    `This CRL expires ${crlNextUpdate}; after that the server refuses EVERY client certificate.`,
    'Sign a new one with `pocketca crl` before then (`pocketca doctor` counts the days).',
  ];
}

/**
 * What the nginx and Apache configs say above their client-verification
 * lines, matching the depth they set: 1 (no valid intermediate) is a leaf
 * the root signed; 2 also admits a leaf of an intermediate the root signed
 * (root -> intermediate -> leaf, which Apache's SSLVerifyDepth counts as 2).
 * The servers check every certificate of the chain against its issuer's CRL
 * (nginx ssl_crl, Apache SSLCARevocationCheck chain).
 */
export function clientVerifyComment(verifyDepth: number): string[] {
  if (verifyDepth <= 1) return ['# A client certificate from this CA, not revoked, directly under the root.'];
  return [
    '# A client certificate from this CA, not revoked: signed by the root or by an intermediate',
    '# the root signed (root -> intermediate -> leaf). The bundle holds the root and its valid',
    "# intermediates, the CRL file a CRL for each; every certificate in the chain is checked",
    "# against its issuer's CRL.",
  ];
}

/** What the configs say about the WebSocket token before their server-specific lines. */
export const WEBSOCKET_TOKEN_COMMENT: readonly string[] = [
  '# The Safari WebSocket exception (pocketca proxy --websocket-token): Safari presents',
  '# no client certificate on WebSocket connections. A request with a verified',
  `# certificate gets a cookie ${WEBSOCKET_COOKIE}: HMAC-SHA256 over this server name, its`,
  '# serial and an expiry, under a key derived from the CA key for this server name only.',
  '# Without a certificate, only a real WebSocket opening handshake (GET, Upgrade: websocket,',
  '# Connection: upgrade, Sec-WebSocket-Version: 13, a valid Sec-WebSocket-Key; RFC 6455 4.1)',
  '# on a --websocket-path passes, with a valid, unexpired cookie whose serial is not in the',
  '# deployed CRL; anything else without a certificate is refused (403) before the upstream.',
  '# The cookie is removed from the request the upstream gets. A certificate that fails',
];
