/**
 * The nodemailer transport both comparison handlers (`nodemailerHandler.ts`, the `large` bench's
 * `nodemailerPayloadHandler.ts`) send with, so that they meet the relay alike: one pooled
 * connection (`maxConnections: 1`, no limit of messages on it) to the relay of the function's
 * `SMTP_URL` settings, its CA when one is configured.
 * @module
 */
import nodemailer from 'nodemailer';
import type { Config, SmtpSettings } from '../lib/config.js';

/**
 * The pooled transport for a configuration, and its SMTP settings (their `from`, for a handler
 * that composes with it). The caller closes the transport.
 * @throws {Error} when SMTP is configured otherwise than by `SMTP_URL`
 * @example
 * const { transport, settings } = nodemailerTransport(loadConfig(process.env));
 */
export function nodemailerTransport(config: Config) {
  if (config.smtp.kind !== 'url') throw new Error('the nodemailer bench handler takes SMTP_URL only');
  const settings: SmtpSettings = config.smtp.settings;
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: 1,
    maxMessages: Infinity,
    host: settings.host,
    port: settings.port ?? 587,
    secure: settings.security === 'implicit',
    requireTLS: settings.security === 'starttls',
    ...(settings.username === undefined ? {} : { auth: { user: settings.username, pass: settings.password ?? '' } }),
    ...(config.tlsCa === undefined ? {} : { tls: { ca: config.tlsCa } }),
  });
  return { transport, settings };
}
