/**
 * The private certificate authority of a relay, for the `OutboundMail` construct's `relayCa`
 * prop: from a file (bundled with the function), an SSM parameter or a Secrets Manager secret
 * (read once by the function). Verification stays on; the function trusts this CA for the relay.
 * @module
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IParameter } from 'aws-cdk-lib/aws-ssm';
import { InvalidOutboundMailPropsError } from './errors.js';

/** Name of the CA file inside the function's bundle. */
export const RELAY_CA_FILE_NAME = 'smtp-relay-ca.pem';
/** Where the function finds the bundled CA file: Lambda unpacks the code in `/var/task`. */
export const RELAY_CA_FILE_PATH = `/var/task/${RELAY_CA_FILE_NAME}`;

/** Where the CA comes from. */
export type RelayCaSource =
  | { readonly kind: 'file'; readonly file: string; readonly pem: string }
  | { readonly kind: 'parameter'; readonly parameter: IParameter }
  | { readonly kind: 'secret'; readonly secret: ISecret };

/**
 * A relay's private certificate authority (PEM, one or more certificates).
 * @example
 * ```ts
 * new OutboundMail(stack, 'Mail', { smtpSecret, relayCa: RelayCa.fromFile('certs/relay-ca.pem') });
 * new OutboundMail(stack, 'Mail', { smtpSecret, relayCa: RelayCa.fromParameter(StringParameter.fromStringParameterName(stack, 'Ca', '/pki/relay-ca')) });
 * ```
 */
export class RelayCa {
  /**
   * A PEM file, read and checked now (at synth), copied into the function's bundle as
   * `smtp-relay-ca.pem` and named by `SMTP_CA_FILE`. A new CA means a new deployment.
   * @param file - path of the PEM file, relative to the current directory or absolute.
   * @throws {@link InvalidOutboundMailPropsError} (`relayCa`) when the file cannot be read or holds no certificate.
   */
  static fromFile(file: string): RelayCa {
    const absolute = path.resolve(file);
    let pem: string;
    try {
      pem = readFileSync(absolute, 'utf8');
    } catch (error) {
      throw new InvalidOutboundMailPropsError('relayCa', `cannot read ${absolute} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
    try {
      if (first === null) throw new Error('no PEM certificate');
      new X509Certificate(first[0]);
    } catch {
      throw new InvalidOutboundMailPropsError('relayCa', `${absolute} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
    return new RelayCa({ kind: 'file', file: absolute, pem });
  }

  /**
   * An SSM parameter holding the PEM (String or SecureString; a SecureString with a customer key
   * needs the key given to the parameter's import so the read grant covers it). The function reads
   * it once (`SMTP_CA_PARAMETER`) and may read that parameter only.
   */
  static fromParameter(parameter: IParameter): RelayCa {
    return new RelayCa({ kind: 'parameter', parameter });
  }

  /**
   * A Secrets Manager secret whose string is the PEM. The function reads it once
   * (`SMTP_CA_SECRET_ID`) and may read that secret only.
   */
  static fromSecret(secret: ISecret): RelayCa {
    return new RelayCa({ kind: 'secret', secret });
  }

  /** Where the CA comes from. */
  readonly source: RelayCaSource;

  private constructor(source: RelayCaSource) {
    this.source = source;
  }

  /** The function's environment variable naming the CA: `SMTP_CA_FILE`, `SMTP_CA_PARAMETER` or `SMTP_CA_SECRET_ID`. */
  environment(): Record<string, string> {
    switch (this.source.kind) {
      case 'file':
        return { SMTP_CA_FILE: RELAY_CA_FILE_PATH };
      case 'parameter':
        return { SMTP_CA_PARAMETER: this.source.parameter.parameterName };
      case 'secret':
        return { SMTP_CA_SECRET_ID: this.source.secret.secretFullArn ?? this.source.secret.secretArn };
    }
  }

  /** Lets `grantee` read the parameter or the secret (nothing for a bundled file). */
  grantRead(grantee: IGrantable): Grant | undefined {
    switch (this.source.kind) {
      case 'file':
        return undefined;
      case 'parameter':
        return this.source.parameter.grantRead(grantee);
      case 'secret':
        return this.source.secret.grantRead(grantee);
    }
  }
}
