/**
 * Throwaway TLS material for the SMTP test servers: a certificate authority, a server
 * certificate for `localhost` / `127.0.0.1` signed by it, and an unrelated authority a client
 * can be given to check that a certificate it does not trust is refused.
 * @module
 */
import { makeAuthority, makeLocalhostCertificate } from '../../lib/local/certificate.js';

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

async function makeCertificates(): Promise<TestCertificates> {
  const validity = { notBefore: new Date(Date.now() - DAY_MS), notAfter: new Date(Date.now() + DAY_MS) };
  const [authority, other] = await Promise.all([
    makeAuthority('outbound-mail test CA', validity),
    makeAuthority('outbound-mail unrelated CA', validity),
  ]);
  const leaf = await makeLocalhostCertificate(authority, validity);
  return { ca: authority.cert, key: leaf.key, cert: leaf.cert, otherCa: other.cert };
}
