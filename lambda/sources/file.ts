import { readFile } from 'node:fs/promises';
import { SyncError, describeError } from '../errors';
import { RawEntry, Source, SourceResult } from '../ports';

/**
 * Reads entries from text in any of the accepted formats: OCM's list JSON (`{items:[{id,enabled}]}`, items
 * without `enabled: true` left out and counted),
 * a JSON array of strings, or one entry a line (blank lines and `#` comments ignored).
 * Throws an Error naming the offending item when the JSON has the wrong shape.
 */
export function parseAllowlistText(text: string, source: string): SourceResult {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return parseJson(trimmed, source);
  const entries: RawEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const value = line.replace(/#.*$/, '').trim();
    if (value !== '') entries.push({ value, source });
  }
  return { source, entries, skipped: 0 };
}

/** A short rendering of a JSON value for an error message. */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function parseJson(text: string, source: string): SourceResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} looks like JSON but does not parse: ${describeError(err)}`);
  }
  if (Array.isArray(value)) {
    const entries = value.map((item: unknown, index) => {
      if (typeof item !== 'string') throw new Error(`${source}: item ${index} (${preview(item)}) is not a string`);
      return { value: item, source };
    });
    return { source, entries, skipped: 0 };
  }
  const { items, total } = value as { items?: unknown; total?: unknown };
  if (!Array.isArray(items)) {
    throw new Error(`${source}: expected OCM's list ({"items":[{"id":...,"enabled":...}]}) or an array of strings`);
  }
  // A saved OCM response may be one page of a longer list; syncing it would drop the other pages' entries.
  if (typeof total === 'number' && total > items.length) {
    throw new Error(`${source}: holds ${items.length} of the list's ${total} items (one page only); save every page, e.g. with a larger "size" parameter`);
  }
  const entries: RawEntry[] = [];
  let skipped = 0;
  items.forEach((item: unknown, index) => {
    const { id, enabled } = (typeof item === 'object' && item !== null ? item : {}) as { id?: unknown; enabled?: unknown };
    if (typeof id !== 'string') throw new Error(`${source}: items[${index}] (${preview(item)}) has no string "id"`);
    if (enabled !== undefined && typeof enabled !== 'boolean') {
      throw new Error(`${source}: items[${index}] (${id}) has a non-boolean "enabled"`);
    }
    // As OCM's own consumers read its list (and as the OCM source does): an item without "enabled" is not enabled.
    if (enabled !== true) skipped++;
    else entries.push({ value: id, source });
  });
  return { source, entries, skipped };
}

/** A local file in any format `parseAllowlistText` accepts. */
export function fileSource(path: string): Source {
  const name = `file:${path}`;
  return {
    name,
    async fetch() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        throw new SyncError('source-file', `Cannot read the allowlist file ${path}: ${describeError(err)}.`);
      }
      try {
        return parseAllowlistText(text, name);
      } catch (err) {
        throw new SyncError('source-file', `${describeError(err)}.`, 'Fix the file and run again.');
      }
    },
  };
}
