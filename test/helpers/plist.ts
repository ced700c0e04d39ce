/**
 * Python's plistlib, an implementation independent of ours, reading a
 * property list file as XML; <data> comes back as {"$data": base64}.
 */
import assert from 'node:assert/strict';
import { tool } from './cli';

const PLIST_TO_JSON = `
import base64, json, plistlib, sys
def conv(o):
    if isinstance(o, bytes): return {"$data": base64.b64encode(o).decode()}
    if isinstance(o, dict): return {k: conv(v) for k, v in o.items()}
    if isinstance(o, list): return [conv(v) for v in o]
    return o
with open(sys.argv[1], "rb") as f:
    print(json.dumps(conv(plistlib.load(f, fmt=plistlib.FMT_XML))))
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function readPlistWithPython(path: string): any {
  const r = tool('python3', ['-c', PLIST_TO_JSON, path]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}
