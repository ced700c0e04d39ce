// Write a file the build generates (man/pocketca.1, src/store/latest-schema.ts), or
// with --check exit 1 when the committed one differs: shared by the scripts that make them.
'use strict';
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');

/** `text` into `file`, or with --check on argv, exit 1 unless `file` already holds it (`command` makes it). */
function writeOrCheck(file, text, command) {
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(file, 'utf8');
    } catch {}
    if (committed !== text) {
      process.stderr.write(`${file} is out of date: run ${command} and commit it\n`);
      process.exit(1);
    }
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    process.stdout.write(`wrote ${file}\n`);
  }
}

module.exports = { writeOrCheck };
