import { shown } from '../validate';
import type { Fail } from './kind';

// Small readers of a raw spec's fields, so each kind says what it needs in a line.

/** A string field checked by `check` (an explanation when wrong). */
export function stringField(raw: Record<string, unknown>, field: string, fail: Fail, check: (value: string) => string | undefined): string {
  const value = raw[field];
  if (typeof value !== 'string') return fail(field, value === undefined ? 'is required' : `must be a string, got ${JSON.stringify(value)}`);
  const problem = check(value);
  return problem ? fail(field, problem) : value;
}

/** A non-empty list of strings, each checked by `check`; `shape` says what the list must be when it is not one. */
export function stringListField(raw: Record<string, unknown>, field: string, fail: Fail, check: (value: string) => string | undefined, shape: string): string[] {
  const value = raw[field];
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) return fail(field, `${shape}, got ${shown(value)}`);
  for (const item of value as string[]) {
    const problem = check(item);
    if (problem) fail(field, problem);
  }
  return [...(value as string[])];
}
