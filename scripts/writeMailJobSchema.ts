/**
 * `npm run schema`: writes the JSON Schema of mail job version 1 to schema/mail-job.v1.schema.json
 * (generated from the valibot schema, see scripts/mailJobSchema.ts). Commit the file with the
 * change to lib/message/jobSchema.ts (or a field schema it imports) that changed it; a test fails
 * while it is stale.
 */
import { writeFile } from 'node:fs/promises';
import { MAIL_JOB_SCHEMA_FILE, mailJobSchemaText } from './mailJobSchema.js';

await writeFile(MAIL_JOB_SCHEMA_FILE, mailJobSchemaText());
console.log(`wrote ${MAIL_JOB_SCHEMA_FILE}`);
