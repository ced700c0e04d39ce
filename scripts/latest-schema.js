#!/usr/bin/env node
// `npm run latest-schema`: write src/store/latest-schema.ts, the schema the
// migrations leave (src/store/schema.ts compares every home with it), from the
// built code and migrations/. With --check, exit 1 when the committed file
// differs. Run it after adding a migration; test/unit/schema.test.ts fails until then.
'use strict';
const { join } = require('node:path');
const { latestSchema } = require('../dist/src/store/schema.js');
const { writeOrCheck } = require('./generated-file');

const file = join(__dirname, '..', 'src', 'store', 'latest-schema.ts');
const { version, objects } = latestSchema();
const text = `/**
 * The schema pocketca's migrations leave (tables, indexes, triggers, views as
 * sqlite_master lists them, SQL with runs of whitespace as one space): what
 * every home at this version is compared with as it is opened, without
 * applying the migrations each time (src/store/schema.ts). Written by
 * \`npm run latest-schema\` (scripts/latest-schema.js); do not edit.
 */
export const LATEST_SCHEMA: { version: number; objects: readonly (readonly [type: string, name: string, table: string, sql: string | null])[] } = {
  version: ${version},
  objects: [
${objects.map((o) => `    ${JSON.stringify(o)},`).join('\n')}
  ],
};
`;
writeOrCheck(file, text, 'npm run latest-schema');
