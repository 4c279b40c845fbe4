/**
 * The errors the CDK app throws at synth time. Each one names the setting at fault, so a wrong
 * `cdk.json` or a contradictory construct prop stops `cdk synth` with a message that says what to
 * change, before anything reaches CloudFormation.
 * @module
 */

/**
 * A value under the `environments` context of `cdk.json` (or `-c` on the command line) is
 * missing, of the wrong type, out of range, or unknown.
 *
 * `key` is the dotted path of the value at fault, e.g. `environments.prod.timeoutSeconds`.
 */
export class InvalidEnvironmentConfigError extends Error {
  /** Dotted path of the context value at fault. */
  readonly key: string;

  constructor(key: string, problem: string) {
    super(`cdk.json context "${key}" ${problem}`);
    this.name = 'InvalidEnvironmentConfigError';
    this.key = key;
  }
}

/**
 * `-c env=NAME` named an environment that `cdk.json` does not define.
 */
export class UnknownEnvironmentError extends Error {
  /** The environment name that was asked for. */
  readonly environment: string;

  constructor(environment: string, known: readonly string[]) {
    super(
      `Unknown environment "${environment}" (-c env=${environment}): cdk.json defines ` +
        (known.length === 0 ? 'no environments' : known.map((name) => `"${name}"`).join(', ')),
    );
    this.name = 'UnknownEnvironmentError';
    this.environment = environment;
  }
}

/**
 * Props given to the `OutboundMail` construct contradict each other or an AWS limit
 * (for example a visibility timeout shorter than six function timeouts, or a batching window on
 * a FIFO queue). `prop` names the prop at fault.
 */
export class InvalidOutboundMailPropsError extends Error {
  /** Name of the prop at fault. */
  readonly prop: string;
  /** What is wrong with it, without the prop's name (e.g. "must be at least 6 x ..."). */
  readonly problem: string;

  constructor(prop: string, problem: string) {
    super(`OutboundMail: ${prop} ${problem}`);
    this.name = 'InvalidOutboundMailPropsError';
    this.prop = prop;
    this.problem = problem;
  }
}
