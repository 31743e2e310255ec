import { DateTime } from 'luxon';

/**
 * A person who can be on call, with the identities Vigil can reach them by. Direct messages go
 * to every identity given (a Slack user ID, a Teams AAD object ID).
 */
export interface OnCallPerson {
  readonly name: string;
  readonly slack?: string | undefined;
  readonly teams?: string | undefined;
}

/**
 * A rotation hands off from one person to the next every day or every week at `handoffTime`
 * (HH:MM) in the schedule's time zone, starting on `startDate` (YYYY-MM-DD) with the first
 * person. Weekly rotations hand off on the weekday of `startDate`. Wall-clock hand-offs stay at
 * the same local time across daylight-saving changes, so a "day" is 23 or 25 hours then.
 */
export interface Rotation {
  readonly name: string;
  readonly handoff: 'daily' | 'weekly';
  readonly handoffTime: string;
  readonly startDate: string;
  readonly people: readonly OnCallPerson[];
}

/** For a while, `person` is on call instead of whoever the rotations say. */
export interface ScheduleOverride {
  readonly id?: string | undefined;
  readonly person: OnCallPerson;
  readonly startsAt: Date;
  readonly endsAt: Date;
}

/** A schedule: rotations in an IANA time zone; each rotation puts one person on call at a time. */
export interface Schedule {
  readonly name: string;
  readonly timeZone: string;
  readonly rotations: readonly Rotation[];
}

/** Who is on call at an instant, and from when until when. */
export interface Shift {
  readonly people: readonly OnCallPerson[];
  readonly from: Date;
  /** The next hand-off (or override boundary), when the people change; null if nothing changes. */
  readonly until: Date | null;
}

/** The first hand-off of a rotation, as an instant. */
function epochOf(rotation: Rotation, timeZone: string): DateTime {
  return DateTime.fromISO(`${rotation.startDate}T${rotation.handoffTime}`, { zone: timeZone });
}

/** The `k`th hand-off: calendar arithmetic in the zone, so the wall time stays put across DST. */
const handoffAt = (epoch: DateTime, rotation: Rotation, k: number): DateTime =>
  rotation.handoff === 'daily' ? epoch.plus({ days: k }) : epoch.plus({ weeks: k });

/** The index of the shift covering `at` (the last hand-off at or before it), or -1 before the start. */
function shiftIndex(rotation: Rotation, timeZone: string, at: Date): number {
  const epoch = epochOf(rotation, timeZone);
  const period = (rotation.handoff === 'daily' ? 1 : 7) * 86_400_000;
  const elapsed = at.getTime() - epoch.toMillis();
  if (elapsed < 0) return -1;
  // An estimate from fixed-length periods, corrected by at most a step each way (DST moves it by an hour).
  let k = Math.floor(elapsed / period);
  while (k > 0 && handoffAt(epoch, rotation, k).toMillis() > at.getTime()) k -= 1;
  while (handoffAt(epoch, rotation, k + 1).toMillis() <= at.getTime()) k += 1;
  return k;
}

/** Who a rotation puts on call at `at`, and the shift's bounds; null before it starts or with no people. */
export function rotationShift(
  rotation: Rotation,
  timeZone: string,
  at: Date,
): { person: OnCallPerson; from: Date; until: Date } | null {
  const k = shiftIndex(rotation, timeZone, at);
  const person = rotation.people[k % rotation.people.length];
  if (k < 0 || person === undefined) return null;
  const epoch = epochOf(rotation, timeZone);
  return {
    person,
    from: handoffAt(epoch, rotation, k).toJSDate(),
    until: handoffAt(epoch, rotation, k + 1).toJSDate(),
  };
}

const samePerson = (a: OnCallPerson, b: OnCallPerson) =>
  a.name === b.name && a.slack === b.slack && a.teams === b.teams;

function dedupe(people: readonly OnCallPerson[]): OnCallPerson[] {
  const out: OnCallPerson[] = [];
  for (const person of people) if (!out.some((p) => samePerson(p, person))) out.push(person);
  return out;
}

/**
 * Who is on call at `at`: an active override replaces everyone (the latest-starting override
 * wins when several overlap); otherwise one person per rotation.
 */
export function onCallAt(schedule: Schedule, overrides: readonly ScheduleOverride[], at: Date): Shift {
  const t = at.getTime();
  const active = overrides
    .filter((o) => o.startsAt.getTime() <= t && t < o.endsAt.getTime())
    .sort((a, b) => b.startsAt.getTime() - a.startsAt.getTime())[0];
  const nextOverrideStart = overrides
    .map((o) => o.startsAt.getTime())
    .filter((start) => start > t)
    .sort((a, b) => a - b)[0];
  if (active !== undefined) {
    const until = Math.min(active.endsAt.getTime(), nextOverrideStart ?? Number.POSITIVE_INFINITY);
    return { people: [active.person], from: active.startsAt, until: new Date(until) };
  }
  const shifts = schedule.rotations
    .map((rotation) => rotationShift(rotation, schedule.timeZone, at))
    .filter((shift) => shift !== null);
  const from = Math.max(...shifts.map((s) => s.from.getTime()), Number.NEGATIVE_INFINITY);
  // Rotations that have not started yet change the people when they do.
  const starts = schedule.rotations
    .map((rotation) => epochOf(rotation, schedule.timeZone).toMillis())
    .filter((start) => start > t);
  const until = Math.min(
    ...shifts.map((s) => s.until.getTime()),
    ...starts,
    nextOverrideStart ?? Number.POSITIVE_INFINITY,
  );
  return {
    people: dedupe(shifts.map((s) => s.person)),
    from: new Date(Number.isFinite(from) ? from : t),
    until: Number.isFinite(until) ? new Date(until) : null,
  };
}

/** Who is on call now and who takes over at the next change. */
export function onCallNowAndNext(
  schedule: Schedule,
  overrides: readonly ScheduleOverride[],
  now: Date,
): { readonly now: Shift; readonly next: Shift | null } {
  const current = onCallAt(schedule, overrides, now);
  return { now: current, next: current.until === null ? null : onCallAt(schedule, overrides, current.until) };
}

/** What is wrong with a schedule (unknown zone, bad time or date), or null. */
export function scheduleProblem(schedule: Schedule): string | null {
  if (!DateTime.local().setZone(schedule.timeZone).isValid)
    return `"${schedule.timeZone}" is not an IANA time zone.`;
  for (const rotation of schedule.rotations) {
    if (!epochOf(rotation, schedule.timeZone).isValid) {
      return `Rotation "${rotation.name}": startDate must be YYYY-MM-DD and handoffTime HH:MM.`;
    }
    if (rotation.people.length === 0) return `Rotation "${rotation.name}" has no people.`;
  }
  return null;
}
