#!/usr/bin/env node
// `npm run man`: write man/pocketca.1 from the built program's command definitions
// (src/cli/man-page.ts). With --check, exit 1 when the committed page differs.
'use strict';
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { buildProgram } = require('../dist/src/cli/main.js');
const { helpModel } = require('../dist/src/cli/help-model.js');
const { manPage } = require('../dist/src/cli/man-page.js');

const file = join(__dirname, '..', 'man', 'pocketca.1');
const page = manPage(helpModel(buildProgram()));
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {}
  if (committed !== page) {
    process.stderr.write(`${file} is out of date: run npm run man and commit it\n`);
    process.exit(1);
  }
} else {
  mkdirSync(join(__dirname, '..', 'man'), { recursive: true });
  writeFileSync(file, page);
  process.stdout.write(`wrote ${file}\n`);
}
