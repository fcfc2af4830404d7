import { Duration, Token } from 'aws-cdk-lib';
import { ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';

/** CloudWatch alarms look back at most one day (period × evaluation periods). */
const MAX_ALARM_WINDOW_SECONDS = 24 * 60 * 60;

/** A schedule the construct can run and watch. */
export interface ResolvedSchedule {
  /** What EventBridge Scheduler is given. */
  readonly expression: ScheduleExpression;
  /** Time between runs, when the schedule is a rate; undefined for cron. */
  readonly period?: Duration;
}

const RATE = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/;
const CRON = /^cron\(\s*\S+(\s+\S+){5}\s*\)$/;

/**
 * Turns a Duration or a Scheduler expression into what Scheduler needs plus the period the
 * alarms are built on. Returns an error string for anything Scheduler would reject at deploy
 * time, so synthesis fails first with a message naming the prop or context key.
 */
export function resolveSchedule(schedule: Duration | string): ResolvedSchedule | string {
  if (typeof schedule !== 'string') {
    const minutes = schedule.toSeconds() / 60;
    if (!Number.isInteger(minutes) || minutes < 1) return `${schedule.toHumanString()} is not a whole number of minutes`;
    return { expression: ScheduleExpression.rate(schedule), period: schedule };
  }
  const text = schedule.trim();
  const rate = RATE.exec(text);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2];
    if (value < 1) return `"${text}": the rate must be at least 1`;
    if ((value === 1) !== !unit.endsWith('s')) {
      return `"${text}": Scheduler wants "rate(1 ${unit.replace(/s$/, '')})" or "rate(${value} ${unit.replace(/s?$/, 's')})"`;
    }
    const period = unit.startsWith('minute') ? Duration.minutes(value) : unit.startsWith('hour') ? Duration.hours(value) : Duration.days(value);
    return { expression: ScheduleExpression.expression(text), period };
  }
  if (CRON.test(text)) return { expression: ScheduleExpression.expression(text) };
  return `"${text}" is neither a number of minutes, "rate(N minutes|hours|days)" nor "cron(min hour day month weekday year)"`;
}

/** How the alarms sample metrics: the staleness alarm fires after `evaluationPeriods` empty periods. */
export interface AlarmTiming {
  /** Period of every alarm's metric. */
  readonly period: Duration;
  /** Periods without a successful sync before the staleness alarm fires. */
  readonly evaluationPeriods: number;
  /** The staleness threshold this amounts to. */
  readonly stalenessThreshold: Duration;
}

/**
 * Alarm timing: by default one schedule period per datapoint, stale after two empty periods.
 * An explicit threshold T gives two periods of T/2 (or one of T when T is an odd number of
 * minutes). Errors name what to change.
 */
export function alarmTiming(schedule: ResolvedSchedule, stalenessThreshold?: Duration): AlarmTiming | string {
  if (stalenessThreshold && Token.isUnresolved(stalenessThreshold.toSeconds())) return 'the staleness threshold must not be a token';
  const threshold = stalenessThreshold ?? (schedule.period ? Duration.seconds(schedule.period.toSeconds() * 2) : undefined);
  if (!threshold) {
    return 'a cron schedule has no fixed period: give a staleness threshold (how long without a successful sync is an alarm)';
  }
  const seconds = threshold.toSeconds();
  if (seconds % 60 !== 0 || seconds < 120) return `the staleness threshold ${threshold.toHumanString()} must be a whole number of minutes, at least 2`;
  if (seconds > MAX_ALARM_WINDOW_SECONDS) {
    return `the staleness window ${threshold.toHumanString()} exceeds the one day a CloudWatch alarm can look back: ` +
      'run at least every 12 hours, or give a staleness threshold of at most 1440 minutes';
  }
  if (schedule.period && seconds < schedule.period.toSeconds()) {
    return `the staleness threshold ${threshold.toHumanString()} is shorter than the schedule period ${schedule.period.toHumanString()}; it would always be in alarm`;
  }
  const evaluationPeriods = seconds % 120 === 0 ? 2 : 1;
  return { period: Duration.seconds(seconds / evaluationPeriods), evaluationPeriods, stalenessThreshold: threshold };
}
