import { Duration } from 'aws-cdk-lib';
import { alarmTiming, resolveSchedule } from '../../lib/schedule';
import type { AlarmTiming, ResolvedSchedule } from '../../lib/schedule';

const resolved = (s: Duration | string) => resolveSchedule(s) as ResolvedSchedule;
const timing = (s: Duration | string, t?: Duration) => alarmTiming(resolved(s), t) as AlarmTiming;

describe('resolveSchedule', () => {
  test.each([
    [Duration.minutes(15), 'rate(15 minutes)', 900],
    [Duration.hours(1), 'rate(1 hour)', 3600],
    ['rate(1 minute)', 'rate(1 minute)', 60],
    ['rate(5 minutes)', 'rate(5 minutes)', 300],
    ['rate(2 hours)', 'rate(2 hours)', 7200],
    [' rate(1 day) ', 'rate(1 day)', 86400],
  ] as const)('%s runs as %s every %i s', (input, expression, seconds) => {
    const r = resolved(input);
    expect(r.expression.expressionString).toBe(expression);
    expect(r.period?.toSeconds()).toBe(seconds);
  });

  test('cron has no period', () => {
    const r = resolved('cron(0/15 * * * ? *)');
    expect(r.expression.expressionString).toBe('cron(0/15 * * * ? *)');
    expect(r.period).toBeUndefined();
  });

  test.each([
    [Duration.seconds(90), /whole number of minutes/],
    ['rate(1 minutes)', /rate\(1 minute\)/],
    ['rate(0 minutes)', /at least 1/],
    ['rate(5 weeks)', /neither/],
    ['cron(0 * * *)', /neither/],
    ['at(2030-01-01T00:00:00)', /neither/],
  ] as const)('%s is refused', (input, message) => {
    expect(resolveSchedule(input)).toMatch(message);
  });
});

describe('alarmTiming', () => {
  test('defaults to two schedule periods', () => {
    const t = timing(Duration.minutes(15));
    expect([t.period.toSeconds(), t.evaluationPeriods, t.stalenessThreshold.toMinutes()]).toEqual([900, 2, 30]);
  });

  test('an explicit threshold gives two half periods, or one period when odd', () => {
    expect(timing('cron(0 * * * ? *)', Duration.minutes(120))).toMatchObject({ evaluationPeriods: 2 });
    expect(timing('cron(0 * * * ? *)', Duration.minutes(120)).period.toMinutes()).toBe(60);
    expect(timing(Duration.minutes(5), Duration.minutes(15)).period.toMinutes()).toBe(15);
    expect(timing(Duration.minutes(5), Duration.minutes(15)).evaluationPeriods).toBe(1);
  });

  test.each([
    ['cron(0 * * * ? *)', undefined, /cron schedule has no fixed period/],
    [Duration.hours(13), undefined, /exceeds the one day/],
    [Duration.minutes(15), Duration.minutes(10), /shorter than the schedule period/],
    [Duration.minutes(1), Duration.seconds(90), /whole number of minutes/],
    [Duration.minutes(1), Duration.minutes(1), /at least 2/],
  ] as const)('%s with threshold %s is refused', (schedule, threshold, message) => {
    expect(alarmTiming(resolved(schedule), threshold)).toMatch(message);
  });
});
