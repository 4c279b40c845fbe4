/**
 * The one error every setting check throws.
 * @module
 */

/** A missing or malformed setting. `setting` names it (an environment variable, or `secret <id>: <field>`). */
export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}
