/** HTML escaping of index.html. */
import { redact } from '../../core/events.ts';

/** HTML-escapes text for element content and quoted attribute values (after redacting tokens). */
export function esc(s: unknown): string {
  return redact(String(s ?? ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
