/**
 * The environment the settings are read from, and the one way a setting is read out of it.
 * @module
 */

/** The environment, as a plain map (a subset of `process.env`). */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The setting's value with surrounding white space removed; `undefined` when it is unset or blank.
 *
 * @example
 * nonEmpty({ MAIL_PER_CONNECTION: ' 20 ' }, 'MAIL_PER_CONNECTION'); // '20'
 */
export function nonEmpty(env: Environment, setting: string): string | undefined {
  const value = env[setting]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
