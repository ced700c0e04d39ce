#!/usr/bin/env node
// `npm run bundle`: pocketca-VERSION-PLATFORM-ARCH.tgz for the offline laptop (issue 10).
//
// A package with every runtime dependency inside it (bundleDependencies), the
// better-sqlite3 already compiled on this machine, so that on a machine of the
// same platform, architecture and Node.js major version
//   npm install -g --offline pocketca-VERSION-PLATFORM-ARCH.tgz
// needs neither the network nor a C compiler. better-sqlite3's install script
// (`prebuild-install || node-gyp rebuild --release`) would download or
// compile; the bundled copy has it removed, and its binding.gyp too (npm runs
// `node-gyp rebuild` by default for a package that has one and no install
// script), so the compiled module is used as it is.
//
// Usage: node scripts/bundle.js [--out-dir DIR]   (default: the project directory)
// Run `npm run build` first (`npm run bundle` does).
'use strict';
const { createHash } = require('node:crypto');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const outIndex = process.argv.indexOf('--out-dir');
const outDir = path.resolve(outIndex > 0 ? process.argv[outIndex + 1] : ROOT);
const platform = `${process.platform}-${process.arch}`;
const fileName = `${pkg.name}-${pkg.version}-${platform}.tgz`;

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'start.js'))) fail('dist/ is missing: run npm run build first');
// node_modules may be a symlink (a git worktree sharing another checkout's): copy from where it points.
const modules = fs.realpathSync(path.join(ROOT, 'node_modules'));

/** Where `name` resolves from `from` (a package directory inside `modules`, or `modules` for pocketca itself), as Node looks it up. */
function resolvePackage(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = dir === modules ? path.join(modules, name) : path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === modules || !dir.startsWith(modules)) return undefined;
  }
}

/** Every package the runtime dependencies need, transitively (dependencies and installed optionalDependencies). */
function productionPackages() {
  const found = new Map(); // real directory -> path relative to node_modules
  const visit = (name, from, optional) => {
    const dir = resolvePackage(name, from);
    if (!dir) {
      if (optional) return;
      fail(`${name} (needed by ${path.relative(modules, from) || 'pocketca'}) is not installed: run npm ci first`);
    }
    if (found.has(dir)) return;
    found.set(dir, path.relative(modules, dir));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, modules, false);
  return found;
}

/** Files of a dependency that are not needed at run time, by package. */
const SKIP = {
  // The SQLite sources, the C++ sources and the objects of the build: only the .node is loaded.
  'better-sqlite3': ['deps', 'src', 'binding.gyp', 'build/Release/obj', 'build/Release/obj.target', 'build/Release/.deps', 'build/Release/test_extension.node', 'build/deps', 'build/Makefile', 'build/config.gypi'],
};

function copyPackage(from, to, skip) {
  fs.cpSync(from, to, {
    recursive: true,
    dereference: true,
    filter: (source) => {
      const rel = path.relative(from, source).split(path.sep).join('/');
      if (rel.startsWith('node_modules')) return false; // nested packages are copied on their own
      return !skip.some((s) => rel === s || rel.startsWith(`${s}/`));
    },
  });
}

const stage = fs.mkdtempSync(path.join(tmpdir(), 'pocketca-bundle-'));
try {
  const root = path.join(stage, 'package');
  fs.mkdirSync(root);
  for (const entry of ['bin', 'dist/src', 'docs', 'man', 'migrations', 'README.md', 'LICENSE']) {
    const source = path.join(ROOT, entry);
    if (fs.existsSync(source)) fs.cpSync(source, path.join(root, entry), { recursive: true, dereference: true });
  }
  const packages = productionPackages();
  for (const [dir, rel] of packages) {
    const name = rel.split(`node_modules${path.sep}`).pop();
    copyPackage(dir, path.join(root, 'node_modules', rel), SKIP[name] ?? []);
  }
  const sqlite = path.join(root, 'node_modules', 'better-sqlite3');
  const native = path.join(sqlite, 'build', 'Release', 'better_sqlite3.node');
  if (!fs.existsSync(native)) fail('better-sqlite3 is not built (no build/Release/better_sqlite3.node): run npm ci first');
  const sqlitePkg = JSON.parse(fs.readFileSync(path.join(sqlite, 'package.json'), 'utf8'));
  delete sqlitePkg.scripts;
  sqlitePkg.gypfile = false;
  // npm pack honours a bundled package's own `files`, which lists the sources, not the build.
  sqlitePkg.files = ['lib/**', 'build/Release/better_sqlite3.node'];
  fs.writeFileSync(path.join(sqlite, 'package.json'), JSON.stringify(sqlitePkg, null, 2) + '\n');

  const nodeMajor = process.versions.node.split('.')[0];
  const bundled = {
    ...pkg,
    // The compiled module is for this Node.js ABI.
    engines: { node: `${nodeMajor}.x` },
    os: [process.platform],
    cpu: [process.arch],
    files: ['bin/', 'dist/', 'docs/', 'man/', 'migrations/'],
    bundleDependencies: Object.keys(pkg.dependencies ?? {}),
  };
  delete bundled.devDependencies;
  delete bundled.scripts;
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify(bundled, null, 2) + '\n');

  const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', stage], { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (packed.status !== 0) fail(`npm pack failed: ${packed.stderr}`);
  const made = path.join(stage, JSON.parse(packed.stdout)[0].filename);
  fs.mkdirSync(outDir, { recursive: true });
  const target = path.join(outDir, fileName);
  fs.copyFileSync(made, target);
  const sha256 = createHash('sha256').update(fs.readFileSync(target)).digest('hex');
  process.stdout.write(
    [
      `wrote ${target} (${fs.statSync(target).size} bytes; ${packages.size} packages bundled; for ${platform}, Node.js ${nodeMajor})`,
      `sha256 ${sha256}`,
      '',
      'on the offline machine, check the checksum, then install:',
      `  sha256sum ${fileName}        # must print ${sha256}`,
      `  npm install -g --offline ./${fileName}`,
      '',
    ].join('\n'),
  );
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
