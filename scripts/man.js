#!/usr/bin/env node
// `npm run man`: write man/pocketca.1 from the built program's command definitions
// (src/cli/man-page.ts). With --check, exit 1 when the committed page differs.
'use strict';
const { join } = require('node:path');
const { buildProgram } = require('../dist/src/cli/main.js');
const { helpModel } = require('../dist/src/cli/help-model.js');
const { manPage } = require('../dist/src/cli/man-page.js');
const { writeOrCheck } = require('./generated-file');

const file = join(__dirname, '..', 'man', 'pocketca.1');
const page = manPage(helpModel(buildProgram()));
writeOrCheck(file, page, 'npm run man');
