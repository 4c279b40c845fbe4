#!/usr/bin/env node
/**
 * The `mail-queue` command: publish mail jobs from the shell. See `mail-queue --help`.
 * @module
 */
import { runMailQueueCli } from './mailQueueCli.js';

process.exitCode = await runMailQueueCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
