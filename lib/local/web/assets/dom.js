// The page's small helpers: elements built from text (never HTML), JSON fetches, formats.
/* global document, fetch */

/** The run's token, which every POST carries in X-Mail-Token. */
export const token = document.querySelector('meta[name="mail-token"]')?.getAttribute('content') ?? '';
/** Where the views are drawn. */
export const view = document.getElementById('view');
const OUTCOME_CLASS = { delivered: 'ok', 'partly refused': 'warn', suppressed: 'warn', retry: 'warn', 'dead-lettered': 'bad', 'batch failed': 'bad' };

/** An element with attributes (on* never used) and children (strings become text nodes). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return element;
}

export async function getJson(url) {
  const reply = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!reply.ok) throw new Error(`${url}: HTTP ${reply.status}`);
  return reply.json();
}

export function time(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function badge(outcome) {
  return h('span', { class: `badge ${OUTCOME_CLASS[outcome] ?? 'warn'}` }, outcome);
}

export function notice(text, bad = false) {
  const element = document.getElementById('notice');
  element.textContent = text;
  element.className = bad ? 'notice bad' : 'notice';
  element.hidden = text === '';
}
