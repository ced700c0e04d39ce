/**
 * A worker thread for `issue --batch`: the PKCS#12 password material (RFC
 * 7292 App. B KDF, PBKDF2) of the identities to come. Thousands of hash
 * rounds per identity, it was half of a batch's time on the main thread,
 * which also signs and encodes; here it runs on another core. The main
 * thread's side, which makes sure every request settles, is
 * src/host/pkcs12-deriver.ts.
 */
import { parentPort } from 'node:worker_threads';
import { preparePkcs12, type Pkcs12Format, type Pkcs12Secrets } from '../formats/pkcs12';
import { checkpoint } from './files';

export interface Pkcs12Request {
  id: number;
  password: string;
  format: Pkcs12Format;
}

/** The answer to request `id`: its material, or why there is none. */
export interface Pkcs12Reply {
  id: number;
  secrets?: Pkcs12Secrets;
  error?: string;
}

parentPort?.on('message', (request: Pkcs12Request) => {
  // Test-only (POCKETCA_TEST_PAUSE_AT=pkcs12:ID@MS): a reply that comes late, as one that never comes.
  checkpoint(`pkcs12:${request.id}`);
  let reply: Pkcs12Reply;
  try {
    reply = { id: request.id, secrets: preparePkcs12(request.password, request.format) };
  } catch (error) {
    reply = { id: request.id, error: (error as Error).message };
  }
  parentPort!.postMessage(reply);
});
