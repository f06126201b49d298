import { WEEKDAYS, type Schedule, type Weekday } from './schema.js';

/** The weekday and HH:MM of `at` on the schedule's wall clock. */
function wallClock(at: Date, timeZone: string): { day: Weekday; time: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = part('weekday').toLowerCase().slice(0, 3) as Weekday;
  if (!WEEKDAYS.includes(day)) throw new Error(`unexpected weekday ${day}`);
  return { day, time: `${part('hour')}:${part('minute')}` };
}

/** Whether the line is open at `at`: some opening names its weekday and from <= time < to. */
export function isOpenAt(schedule: Schedule, at: Date): boolean {
  const { day, time } = wallClock(at, schedule.time_zone);
  return schedule.open.some((o) => o.days.includes(day) && o.from <= time && time < o.to);
}
