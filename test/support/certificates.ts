/**
 * Throwaway TLS material for the SMTP test servers: a certificate authority, a server
 * certificate for `localhost` / `127.0.0.1` signed by it, and an unrelated authority a client
 * can be given to check that a certificate it does not trust is refused.
 * @module
 */
import { generate } from 'selfsigned';

/** PEM-encoded TLS material made at test time. */
export interface TestCertificates {
  /** The authority that signed {@link TestCertificates.cert}: give it to the client as `tls.ca`. */
  ca: string;
  /** Private key of the server certificate. */
  key: string;
  /** Server certificate for DNS `localhost` and IP `127.0.0.1`, signed by {@link TestCertificates.ca}. */
  cert: string;
  /** An authority that signed nothing here: a client trusting only it must refuse the server. */
  otherCa: string;
}

let pending: Promise<TestCertificates> | undefined;

/**
 * Returns the test certificates, generated once per process (RSA 2048, SHA-256, valid one day
 * either side of now so clock skew between test steps never matters).
 *
 * @example
 * ```ts
 * const { ca, key, cert } = await testCertificates();
 * const client = await SmtpClient.connect({ host: '127.0.0.1', port, tls: { ca } });
 * ```
 */
export function testCertificates(): Promise<TestCertificates> {
  pending ??= makeCertificates();
  return pending;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function makeAuthority(commonName: string): Promise<{ key: string; cert: string }> {
  const made = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - DAY_MS),
    notAfterDate: new Date(Date.now() + DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { key: made.private, cert: made.cert };
}

async function makeCertificates(): Promise<TestCertificates> {
  const [authority, other] = await Promise.all([
    makeAuthority('outbound-mail test CA'),
    makeAuthority('outbound-mail unrelated CA'),
  ]);
  const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - DAY_MS),
    notAfterDate: new Date(Date.now() + DAY_MS),
    ca: authority,
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
  return { ca: authority.cert, key: leaf.private, cert: leaf.cert, otherCa: other.cert };
}
