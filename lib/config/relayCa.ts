/**
 * Where the relay's private certificate authority comes from when it is not a file
 * (`SMTP_CA_FILE`, read in lib/config.ts): `SMTP_CA_PARAMETER` (an SSM parameter holding the PEM)
 * or `SMTP_CA_SECRET_ID` (a Secrets Manager secret whose string is the PEM). The function reads it
 * once, before its first connection (lib/delivery/RelayCaSource.ts), and trusts it for the relay
 * with verification on. At most one of the three may be set.
 * @module
 */
import { ConfigError } from './ConfigError.js';
import { nonEmpty } from './environment.js';
import type { Environment } from './environment.js';

/** A CA read at run time: an SSM parameter (name or ARN) or a secret (name or ARN). */
export type RelayCaLocation = { kind: 'parameter'; name: string } | { kind: 'secret'; secretId: string };

/** An SSM parameter name (`/pki/relay-ca`, `relay-ca`) or ARN, as SSM's GetParameter takes it. */
const PARAMETER = /^(?:arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/)?\/?[A-Za-z0-9_.\-/]{1,1011}$/;
const SPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/**
 * Reads `SMTP_CA_PARAMETER` or `SMTP_CA_SECRET_ID`.
 * @returns undefined when neither is set.
 * @throws {ConfigError} when more than one CA source is set (with `SMTP_CA_FILE`), or the one set is malformed
 * @example
 * readRelayCaLocation({ SMTP_CA_PARAMETER: '/pki/relay-ca' }); // { kind: 'parameter', name: '/pki/relay-ca' }
 */
export function readRelayCaLocation(env: Environment): RelayCaLocation | undefined {
  const set = ['SMTP_CA_FILE', 'SMTP_CA_PARAMETER', 'SMTP_CA_SECRET_ID'].filter((name) => nonEmpty(env, name) !== undefined);
  if (set.length > 1) throw new ConfigError(set[1] as string, `set only one of ${set.join(' and ')}: the relay's CA comes from one place`);
  const parameter = nonEmpty(env, 'SMTP_CA_PARAMETER');
  if (parameter !== undefined) {
    if (!PARAMETER.test(parameter) || parameter.includes('//')) {
      throw new ConfigError('SMTP_CA_PARAMETER', `must be an SSM parameter name like /pki/relay-ca (or its ARN), not "${parameter}"`);
    }
    return { kind: 'parameter', name: parameter };
  }
  const secretId = nonEmpty(env, 'SMTP_CA_SECRET_ID');
  if (secretId !== undefined) {
    if (SPACE_OR_CONTROL.test(secretId)) throw new ConfigError('SMTP_CA_SECRET_ID', 'must be a secret name or ARN without spaces');
    return { kind: 'secret', secretId };
  }
  return undefined;
}

/**
 * Checks the PEM text read from a CA's source: it must hold a certificate.
 * @param from names the source in the error (`SMTP_CA_PARAMETER /pki/relay-ca`)
 * @throws {ConfigError} naming the source
 */
export function checkCaPem(pem: unknown, setting: string, from: string): string {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(setting, `${from} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return pem;
}
