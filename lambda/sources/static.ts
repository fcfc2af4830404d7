import { Source } from '../ports';

/** Splits a comma- or whitespace-separated list such as `EXTRA_CIDRS`. */
export function splitList(list: string): string[] {
  return list.split(/[\s,]+/).filter((v) => v !== '');
}

/** A fixed list of entries, e.g. `EXTRA_CIDRS` beside the OCM list. */
export function staticSource(list: string | readonly string[], name = 'static'): Source {
  const values = typeof list === 'string' ? splitList(list) : [...list];
  return {
    name,
    fetch: async () => ({ source: name, entries: values.map((value) => ({ value, source: name })), skipped: 0 }),
  };
}
