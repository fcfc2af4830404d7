// The interfaces every layer shares. Ground floor: imports nothing of ours but other ports.

export type { CurrentPolicy, Target, WriteRequest, WriteResult } from './targets/target';
export { TargetRefusedError } from './targets/target';
export type { FetchOptions, RawEntry, Source, SourceResult } from './sources/source';
export type * from './state/types';

/** Environment variables, as `process.env` gives them. */
export type Env = Record<string, string | undefined>;

/** The little a sync needs of a logger (Powertools Logger fits). */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A logger that can also report errors (Powertools Logger fits). */
export interface RunLog extends Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** The units the run reports metrics in (a subset of Powertools' MetricUnit, by value). */
export type MetricUnitName = 'Count' | 'Milliseconds';

/** The little the run needs of Powertools Metrics. */
export interface MetricsSink {
  addMetric(name: string, unit: MetricUnitName, value: number): void;
}
