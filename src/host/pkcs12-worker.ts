/**
 * A worker thread for `issue --batch`: the PKCS#12 password material (RFC
 * 7292 App. B KDF, PBKDF2) of the identities to come. Thousands of hash
 * rounds per identity, it was half of a batch's time on the main thread,
 * which also signs and encodes; here it runs on another core.
 */
import { parentPort } from 'node:worker_threads';
import { preparePkcs12, type Pkcs12Format } from '../formats/pkcs12';

export interface Pkcs12Request {
  id: number;
  password: string;
  format: Pkcs12Format;
}

parentPort?.on('message', (request: Pkcs12Request) => {
  try {
    parentPort!.postMessage({ id: request.id, secrets: preparePkcs12(request.password, request.format) });
  } catch (error) {
    parentPort!.postMessage({ id: request.id, error: (error as Error).message });
  }
});
