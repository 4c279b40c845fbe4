/**
 * The page's files (`assets/index.html`, `app.js`, `app.css`): plain HTML, CSS and a JavaScript
 * module the browser runs as they are, with no build step, read once when the page starts.
 * @module
 */
import { readFile } from 'node:fs/promises';

/** The page's files, ready to serve. */
export interface PageAssets {
  /** The page, with the run's token in its `<meta name="mail-token">`. */
  page(token: string): string;
  script: string;
  style: string;
}

const TOKEN_SLOT = '{{TOKEN}}';

/** Reads the files next to this module. */
export async function loadPageAssets(): Promise<PageAssets> {
  const read = (name: string): Promise<string> => readFile(new URL(`./assets/${name}`, import.meta.url), 'utf8');
  const [html, script, style] = await Promise.all([read('index.html'), read('app.js'), read('app.css')]);
  if (!html.includes(TOKEN_SLOT)) throw new Error(`assets/index.html has no ${TOKEN_SLOT}`);
  return { page: (token) => html.replace(TOKEN_SLOT, token), script, style };
}
