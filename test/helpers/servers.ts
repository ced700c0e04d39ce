/**
 * Real servers for the proxy tests, on 127.0.0.1 high ports: Debian's nginx,
 * apache2 and mosquitto with the configs pocketca generates, a tiny upstream
 * that reports what it received, and curl as the client. Every server is
 * stopped in t.after, also when the test fails; its log is attached to the
 * error when it does not start.
 */
import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { APACHE_PUBLISH } from '../../src/formats/proxy-apache';
import { NGINX_WORKER_SHUTDOWN_TIMEOUT } from '../../src/formats/proxy-nginx';
import { isOnPath, requireFile, requireTool } from './tools';

const APACHE_MODULES = '/usr/lib/apache2/modules';
export const NJS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';
const isRoot = () => process.getuid?.() === 0;

/** The server's path: on PATH, or in /usr/sbin (not on a normal user's PATH); undefined after skipping. */
export function serverCommand(t: TestContext, command: string): string | undefined {
  if (isOnPath(command)) return command;
  try {
    accessSync(join('/usr/sbin', command), constants.X_OK);
    return join('/usr/sbin', command);
  } catch {
    return requireTool(t, command) ? command : undefined;
  }
}

/** Every tool a proxy test needs, skipping (or failing in CI) with the package to install. */
export function requireServer(t: TestContext, server: 'nginx' | 'apache2' | 'mosquitto'): string | undefined {
  const clients = server === 'mosquitto' ? ['mosquitto_pub', 'mosquitto_sub'] : ['curl'];
  if (!clients.every((c) => requireTool(t, c))) return undefined;
  if (server === 'nginx' && !requireFile(t, NJS_MODULE, 'libnginx-mod-http-js')) return undefined;
  if (server === 'apache2' && !requireFile(t, join(APACHE_MODULES, 'mod_lua.so'), 'apache2')) return undefined;
  return serverCommand(t, server);
}

/** A port nothing listens on right now (the kernel's choice, released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` is true, else throw with `describe()` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, what: string, describe: () => string = () => '', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}\n${describe()}`);
}

const readLog = (path: string): string => {
  try {
    return readFileSync(path, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
};

export interface RunningServer {
  dir: string;
  log: string;
  /** Reload the configuration (re-reads certificates and the CRL) as the generated comments say; resolves once it took effect. */
  reload(): Promise<void>;
  /** How long after reload() an open connection may live on, in ms (what the generated comments promise). */
  closesWithinMs?: number;
}

/** Start `command args`, wait until `ports` accept connections, stop it in t.after. */
async function startDaemon(t: TestContext, command: string, args: string[], ports: number[], log: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  });
  const describe = () => `${command} ${args.join(' ')}\n${output}\n${readLog(log)}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${command} exited ${child.exitCode}\n${describe()}`);
      return (await Promise.all(ports.map(canConnect))).every(Boolean);
    },
    `${command} to listen on ${ports.join(', ')}`,
    describe,
  );
  return child;
}

export function runCommand(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Check the config, start the server in the foreground, reload it on demand: each with `base` (the config) first. */
async function startChecked(
  t: TestContext,
  command: string,
  base: string[],
  args: { check: string[]; run: string[]; reload: string[] },
  ports: number[],
  dir: string,
  log: string,
  closesWithinMs: number,
): Promise<RunningServer> {
  const checked = await runCommand(command, [...base, ...args.check]);
  if (checked.code !== 0) throw new Error(`${command} ${args.check.join(' ')} refused the config:\n${checked.stderr}`);
  const daemon = await startDaemon(t, command, [...base, ...args.run], ports, log);
  return {
    dir,
    log,
    closesWithinMs,
    reload: async () => {
      // Both servers reload by starting new workers and retiring the old ones (nginx: once their
      // connections close or worker_shutdown_timeout passes; Apache's restart: at once): the
      // reload is done when every old worker has exited.
      const before = childrenOf(daemon.pid!);
      const r = await runCommand(command, [...base, ...args.reload]);
      if (r.code !== 0) throw new Error(`${command} ${args.reload.join(' ')} failed:\n${r.stderr}\n${readLog(log)}`);
      await waitFor(
        async () => {
          const now = childrenOf(daemon.pid!);
          return now.length > 0 && before.every((pid) => !now.includes(pid));
        },
        `${command}'s old workers to exit after the reload`,
        () => readLog(log),
        closesWithinMs + 10_000,
      );
    },
  };
}

/** The live (not zombie) child processes of `pid`, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === pid && state !== 'Z') children.push(Number(entry));
    } catch {
      /* exited while we looked */
    }
  }
  return children;
}

/**
 * nginx with the generated files included inside http {}, as Debian's
 * conf.d does; the njs module loaded as Debian's modules-enabled does, and
 * worker_shutdown_timeout in the main context, as the generated header asks.
 */
export async function startNginx(t: TestContext, nginx: string, dir: string, includes: string[], ports: number[]): Promise<RunningServer> {
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'temp'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  const log = join(prefix, 'error.log');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(prefix, 'temp', k)};`).join('\n');
  writeFileSync(
    conf,
    `load_module ${NJS_MODULE};
worker_shutdown_timeout ${NGINX_WORKER_SHUTDOWN_TIMEOUT};
worker_processes 1;
error_log ${log} info;
pid ${join(prefix, 'nginx.pid')};
events { worker_connections 64; }
http {
  access_log off;
${temp}
${includes.map((i) => `  include ${i};`).join('\n')}
}
`,
  );
  const args = { check: ['-t'], run: ['-g', 'daemon off;'], reload: ['-s', 'reload'] };
  return startChecked(t, nginx, ['-p', prefix, '-c', conf], args, ports, prefix, log, Number.parseInt(NGINX_WORKER_SHUTDOWN_TIMEOUT, 10) * 1000);
}

/**
 * apache2 from a self-contained config: the modules Debian's a2enmod would
 * enable, logs in the test directory, the generated VirtualHost included.
 * As root, children run as nobody: what they read (the Lua file) must be
 * world-readable, as on a real server where they run as www-data.
 */
export async function startApache(t: TestContext, apache2: string, dir: string, includes: string[], ports: number[]): Promise<RunningServer> {
  const root = join(dir, 'apache');
  mkdirSync(root, { recursive: true });
  const conf = join(root, 'httpd.conf');
  const log = join(root, 'error.log');
  const modules = ['mpm_event', 'authz_core', 'socache_shmcb', 'ssl', 'proxy', 'proxy_http', 'headers', 'lua'];
  writeFileSync(
    conf,
    `ServerRoot ${root}
ServerName localhost
DefaultRuntimeDir ${root}
PidFile ${join(root, 'httpd.pid')}
ErrorLog ${log}
LogLevel warn ssl:info
Mutex file:${root} default
${isRoot() ? 'User nobody\nGroup nogroup\n' : ''}StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
${modules.map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`).join('\n')}
SSLSessionCache shmcb:${join(root, 'ssl_scache')}(512000)
${includes.map((i) => `Include ${i}`).join('\n')}
`,
  );
  // The publish step the generated file names (`apachectl restart` is `apache2 -k restart`).
  const reload = ['-k', APACHE_PUBLISH.split(' ')[1]!];
  return startChecked(t, apache2, ['-f', conf], { check: ['-t'], run: ['-DFOREGROUND'], reload }, ports, root, log, 2000);
}

/** The user Debian's mosquitto package creates and its service drops to (mosquitto.conf `user`, default mosquitto). */
const MOSQUITTO_USER = 'mosquitto';

/**
 * The uid of the `mosquitto` user, created as the package's postinst does
 * when missing (a system user with its own group). Root only: mosquitto
 * switches user only when started as root.
 */
export function mosquittoUid(): number {
  const id = () => spawnSync('id', ['-u', MOSQUITTO_USER], { encoding: 'utf8' });
  let r = id();
  if (r.status !== 0) {
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/var/lib/mosquitto', '--shell', '/usr/sbin/nologin', MOSQUITTO_USER], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`useradd ${MOSQUITTO_USER} failed: ${made.stderr}`);
    r = id();
  }
  return Number(r.stdout.trim());
}

/**
 * True when the test runs as root, which starting mosquitto as Debian's
 * service does (as root, then `user mosquitto`) needs. Otherwise skips the
 * test (the caller returns), or throws when CI=true.
 */
export function requireRootForMosquitto(t: TestContext): boolean {
  if (isRoot()) return true;
  const reason = 'mosquitto is started as root with `user mosquitto`, as Debian runs it: run the test as root';
  if (process.env.CI === 'true') throw new Error(reason);
  t.skip(reason);
  return false;
}

/**
 * mosquitto as Debian's service runs it: started as root with a main config
 * that says `user mosquitto` (Debian's default) and includes `confDir` (for
 * /etc/mosquitto/conf.d), logging every connection. It reads the files the
 * listener names as that user, so they must be where it can reach them: not
 * under a 0700 test directory. `root` holds the main config and, owned by
 * the broker's user like /run/mosquitto and /var/log/mosquitto, its log and
 * pid file.
 */
export async function startMosquitto(t: TestContext, mosquitto: string, root: string, confDir: string, port: number): Promise<RunningServer> {
  const run = join(root, 'run');
  mkdirSync(run, { recursive: true });
  chownSync(run, mosquittoUid(), -1);
  const conf = join(root, 'mosquitto.conf');
  const log = join(run, 'mosquitto.log');
  writeFileSync(
    conf,
    `persistence false
log_dest file ${log}
log_type all
connection_messages true
pid_file ${join(run, 'mosquitto.pid')}
user ${MOSQUITTO_USER}
include_dir ${confDir}
`,
  );
  const child = await startDaemon(t, mosquitto, ['-c', conf], [port], log);
  return {
    dir: root,
    log,
    reload: async () => {
      child.kill('SIGHUP');
    },
  };
}

export interface SeenRequest {
  path: string;
  headers: IncomingHttpHeaders;
  upgrade: boolean;
}

export interface Upstream {
  port: number;
  seen: SeenRequest[];
  /** The request the upstream received for this path, if any. */
  find(path: string): SeenRequest | undefined;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2). */
const acceptOf = (key: string): string => createHash('sha1').update(key + WS_GUID).digest('base64');

/** One WebSocket frame (RFC 6455 §5.2), short payloads only; masked when a client sends it. */
function wsFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  if (payload.length > 125) throw new Error('test frames are short');
  const key = mask ? randomBytes(4) : Buffer.alloc(0);
  const body = mask ? Buffer.from(payload.map((b, i) => b ^ key[i % 4]!)) : payload;
  return Buffer.concat([Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | payload.length]), key, body]);
}

/** Take the complete frames from the front of `buf`: [opcode, payload][] and the rest. */
function readFrames(buf: Buffer): { frames: [number, Buffer][]; rest: Buffer } {
  const frames: [number, Buffer][] = [];
  while (buf.length >= 2) {
    const masked = (buf[1]! & 0x80) !== 0;
    const len = buf[1]! & 0x7f;
    const head = 2 + (masked ? 4 : 0);
    if (len > 125) throw new Error('test frames are short');
    if (buf.length < head + len) break;
    const key = buf.subarray(2, head);
    const payload = Buffer.from(buf.subarray(head, head + len).map((b, i) => (masked ? b ^ key[i % 4]! : b)));
    frames.push([buf[0]! & 0x0f, payload]);
    buf = buf.subarray(head + len);
  }
  return { frames, rest: buf };
}

/**
 * The service behind the proxy: answers every request with the headers it
 * received (JSON), and every upgrade with 101 and the identity headers echoed
 * back, then closes; an upgrade to a path under /echo is a real WebSocket
 * (RFC 6455) that echoes text frames and stays open. Records all of them.
 */
export async function startUpstream(t: TestContext): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers, upgrade: false });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  server.on('upgrade', (req, socket: Socket) => {
    seen.push({ path: req.url ?? '', headers: req.headers, upgrade: true });
    const echo = ['x-ssl-client-serial', 'x-ssl-client-verify', 'x-ssl-client-s-dn']
      .filter((h) => req.headers[h] !== undefined)
      .map((h) => `Upstream-Saw-${h}: ${req.headers[h]}\r\n`)
      .join('');
    const key = req.headers['sec-websocket-key'];
    if (!(req.url ?? '').startsWith('/echo') || typeof key !== 'string') {
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${echo}\r\n`);
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(key)}\r\n${echo}\r\n`);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      const { frames, rest } = readFrames(Buffer.concat([pending, d]));
      pending = rest;
      for (const [opcode, payload] of frames) {
        if (opcode === 0x1) socket.write(wsFrame(0x1, payload, false));
        else if (opcode === 0x8) socket.end(wsFrame(0x8, payload, false));
      }
    });
    socket.on('error', () => undefined);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, seen, find: (path) => seen.find((r) => r.path === path) };
}

export interface WebSocketClient {
  /** The status of the proxy's answer to the handshake (101 when it went through). */
  status: number;
  /** Send a text message, resolve with the text that comes back. */
  echo(text: string): Promise<string>;
  /** Resolves (with Date.now()) when the connection is closed, by either side. */
  closed: Promise<number>;
  close(): void;
}

/**
 * A WebSocket client over TLS to 127.0.0.1:`port` (SNI and Host localhost),
 * optionally with a client certificate and extra header lines: the opening
 * handshake of RFC 6455 §4.1, with Sec-WebSocket-Accept checked on a 101.
 */
export async function openWebSocket(opts: { port: number; path: string; ca: string; cert?: string; key?: string; headers?: string[] }): Promise<WebSocketClient> {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: opts.port,
    servername: 'localhost',
    ca: readFileSync(opts.ca),
    ...(opts.cert ? { cert: readFileSync(opts.cert), key: readFileSync(opts.key!) } : {}),
  });
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  socket.on('error', () => undefined);
  const key = randomBytes(16).toString('base64');
  const request = [`GET ${opts.path} HTTP/1.1`, `Host: localhost:${opts.port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', ...(opts.headers ?? [])];
  socket.write(request.join('\r\n') + '\r\n\r\n');
  let buf: Buffer = Buffer.alloc(0);
  const head = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve(''), 10_000);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.off('data', onData);
      const text = buf.subarray(0, end).toString('latin1');
      buf = buf.subarray(end + 4);
      resolve(text);
    };
    socket.on('data', onData);
    void closed.then(() => resolve(buf.toString('latin1')));
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  if (status === 101 && !new RegExp(`^Sec-WebSocket-Accept: ${acceptOf(key).replace(/[+/]/g, '\\$&')}\r?$`, 'mi').test(head)) {
    socket.destroy();
    throw new Error(`101 without the right Sec-WebSocket-Accept:\n${head}`);
  }
  const waiting: ((text: string) => void)[] = [];
  socket.on('data', (d: Buffer) => {
    const { frames, rest } = readFrames(Buffer.concat([buf, d]));
    buf = rest;
    for (const [opcode, payload] of frames) if (opcode === 0x1) waiting.shift()?.(payload.toString('utf8'));
  });
  return {
    status,
    closed,
    close: () => socket.destroy(),
    echo: (text) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5000);
        waiting.push((got) => {
          clearTimeout(timer);
          resolve(got);
        });
        socket.write(wsFrame(0x1, Buffer.from(text), true));
      }),
  };
}

export interface CurlResult {
  /** curl's exit code: 0, or why the transfer failed (35/56: TLS refused, 52: empty reply...). */
  code: number;
  /** HTTP status of the last response, 0 when there was none. */
  status: number;
  /** Lowercased header name -> values. */
  headers: Record<string, string[]>;
  body: string;
  stderr: string;
}

/** curl, asynchronously: the upstream lives in this process and must keep answering. */
export async function curl(args: string[]): Promise<CurlResult> {
  const r = await runCommand('curl', ['-s', '-S', '-i', '--max-time', '10', ...args]);
  const blocks = r.stdout.split(/\r\n\r\n/);
  // With -i the output is header block(s) then the body; take the last block that starts with HTTP/.
  let headerBlock = '';
  let bodyStart = 0;
  for (let i = 0; i < blocks.length; i++) {
    if (/^HTTP\/[\d.]+ \d{3}/.test(blocks[i]!)) {
      headerBlock = blocks[i]!;
      bodyStart = i + 1;
    } else break;
  }
  const [statusLine, ...lines] = headerBlock.split('\r\n');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    if (at > 0) (headers[line.slice(0, at).trim().toLowerCase()] ??= []).push(line.slice(at + 1).trim());
  }
  return { code: r.code, status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body: blocks.slice(bodyStart).join('\r\n\r\n'), stderr: r.stderr };
}

/** The curl arguments of a WebSocket upgrade request (RFC 6455 §4.1). */
export const WEBSOCKET_UPGRADE = [
  '-H', 'Connection: Upgrade',
  '-H', 'Upgrade: websocket',
  '-H', 'Sec-WebSocket-Version: 13',
  '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
];
