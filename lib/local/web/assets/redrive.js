// The Redrive buttons: POST /api/dead-letters/redrive with the run's token; the page redraws
// itself after (a "mail:changed" event), and again when the live updates say the queues changed.
/* global window, fetch, Event */
import { h, notice, token } from './dom.js';

/** Whether this run can redrive (the page asks /api/overview once). */
export const redriveState = { available: false };

export function redriveButton(ids, label) {
  if (!redriveState.available) return '';
  const button = h('button', { type: 'button', class: 'redrive', 'data-ids': ids.join(' ') }, label);
  button.addEventListener('click', () => void redrive(ids, button));
  return button;
}

async function redrive(ids, button) {
  button.disabled = true;
  try {
    const reply = await fetch('/api/dead-letters/redrive', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Mail-Token': token },
      body: JSON.stringify({ ids }),
    });
    const outcome = await reply.json();
    if (!reply.ok) throw new Error(outcome.error ?? `HTTP ${reply.status}`);
    const problems = outcome.problems.length === 0 ? '' : `; ${outcome.problems.join('; ')}`;
    notice(`Redriven ${outcome.redriven} of ${ids.length} to the mail queue${problems}`, outcome.problems.length > 0);
  } catch (error) {
    notice(`Redrive failed: ${error.message}`, true);
    button.disabled = false;
  }
  window.dispatchEvent(new Event('mail:changed'));
}
