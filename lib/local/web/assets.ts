/**
 * The page's files (`assets/index.html`, `app.css` and the JavaScript modules `app.js` imports):
 * plain HTML, CSS and ES modules the browser runs as they are, with no build step, read once when
 * the page starts.
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';

/** The page's files, ready to serve. */
export interface PageAssets {
  /** The page, with the run's token in its `<meta name="mail-token">`. */
  page(token: string): string;
  /** The style and the scripts by file name (`app.css`, `app.js`, `dom.js`...), with their content types. */
  files: ReadonlyMap<string, { type: string; body: string }>;
}

const TOKEN_SLOT = '{{TOKEN}}';
const DIR = new URL('./assets/', import.meta.url);

/** Reads the files next to this module. */
export async function loadPageAssets(): Promise<PageAssets> {
  const read = (name: string): Promise<string> => readFile(new URL(name, DIR), 'utf8');
  const html = await read('index.html');
  if (!html.includes(TOKEN_SLOT)) throw new Error(`assets/index.html has no ${TOKEN_SLOT}`);
  const files = new Map<string, { type: string; body: string }>();
  for (const name of (await readdir(DIR)).sort()) {
    if (name.endsWith('.js')) files.set(name, { type: 'text/javascript; charset=utf-8', body: await read(name) });
    else if (name.endsWith('.css')) files.set(name, { type: 'text/css; charset=utf-8', body: await read(name) });
  }
  return { page: (token) => html.replace(TOKEN_SLOT, token), files };
}
