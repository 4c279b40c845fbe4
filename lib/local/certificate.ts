/**
 * TLS material of the local SMTP server: a private certificate authority and a server
 * certificate for `localhost` and `127.0.0.1` signed by it, made on the first run and kept in
 * the state folder, so that the handler can verify the server (`SMTP_CA_FILE`) exactly as it
 * verifies a relay with a private CA. Made anew when missing, unreadable or within a week of expiry.
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';

/** The local TLS material (PEM) and where the authority's certificate is kept. */
export interface LocalTls {
  /** The authority's certificate: the handler's `SMTP_CA_FILE`. */
  caFile: string;
  ca: string;
  key: string;
  cert: string;
  /** True when it was made by this call (first run, or the old one was expiring). */
  made: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const VALID_DAYS = 825;
const RENEW_WITHIN_MS = 7 * DAY_MS;

/**
 * The local TLS material in `dir`, made if needed.
 * @example
 * const tls = await localTls(layout.tlsDir);
 * new SMTPServer({ key: tls.key, cert: tls.cert });
 */
export async function localTls(dir: string): Promise<LocalTls> {
  const files = { ca: path.join(dir, 'ca.pem'), caKey: path.join(dir, 'ca-key.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server-key.pem') };
  try {
    const [ca, cert, key] = await Promise.all([readFile(files.ca, 'utf8'), readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]);
    if (usable(ca, cert)) return { caFile: files.ca, ca, key, cert, made: false };
  } catch {
    // missing: made below
  }
  const made = await makeTls();
  await writeFile(files.caKey, made.caKey, { mode: 0o600 });
  await writeFile(files.key, made.key, { mode: 0o600 });
  await writeFile(files.cert, made.cert);
  await writeFile(files.ca, made.ca);
  return { caFile: files.ca, ca: made.ca, key: made.key, cert: made.cert, made: true };
}

/** The server certificate was signed by the authority and neither expires soon. */
function usable(caPem: string, certPem: string): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    const soon = Date.now() + RENEW_WITHIN_MS;
    return cert.verify(ca.publicKey) && Date.parse(ca.validTo) > soon && Date.parse(cert.validTo) > soon && cert.checkIP('127.0.0.1') !== undefined;
  } catch {
    return false;
  }
}

async function makeTls(): Promise<{ ca: string; caKey: string; cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - DAY_MS);
  const notAfterDate = new Date(Date.now() + VALID_DAYS * DAY_MS);
  const authority = await generate([{ name: 'commonName', value: 'outbound-mail local run CA' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: authority.private, cert: authority.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { ca: authority.cert, caKey: authority.private, cert: leaf.cert, key: leaf.private };
}
