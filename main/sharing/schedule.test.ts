import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeWindow, formatClockTime, localTime, nextWindowStart, parseClockTime } from './schedule.js';
import type { TimeWindow } from './settings.js';

const MON = 1;
const FRI = 5;
const SAT = 6;
const SUN = 0;
const at = (day: number, hhmm: string) => ({ day, minute: parseClockTime(hhmm) });
const lateFriday: TimeWindow = { days: ['fri'], start: '22:00', end: '02:00' };
const lateSaturday: TimeWindow = { days: ['sat'], start: '23:00', end: '01:00' };
const wholeMonday: TimeWindow = { days: ['mon'], start: '00:00', end: '24:00' };

test('schedule: clock times parse and format', () => {
  assert.equal(parseClockTime('07:30'), 450);
  assert.equal(parseClockTime('24:00'), 1440);
  assert.equal(formatClockTime(450), '07:30');
  assert.equal(formatClockTime(1440 + 60), '01:00');
});

test('schedule: a window crossing midnight covers both sides of it', () => {
  assert.equal(activeWindow([lateFriday], at(FRI, '21:59')), null);
  assert.equal(activeWindow([lateFriday], at(FRI, '22:00'))?.minutesLeft, 240);
  assert.equal(activeWindow([lateFriday], at(SAT, '01:59'))?.minutesLeft, 1);
  assert.equal(activeWindow([lateFriday], at(SAT, '02:00')), null);
  assert.equal(activeWindow([lateFriday], at(FRI, '01:00')), null, 'the small hours before the start day are not covered');
});

test('schedule: a Saturday-night window spills into Sunday morning', () => {
  assert.ok(activeWindow([lateSaturday], at(SUN, '00:30')));
  assert.equal(activeWindow([lateSaturday], at(SUN, '01:00')), null);
});

test('schedule: 00:00–24:00 is the whole day and nothing of the next', () => {
  assert.ok(activeWindow([wholeMonday], at(MON, '00:00')));
  assert.ok(activeWindow([wholeMonday], at(MON, '23:59')));
  assert.equal(activeWindow([wholeMonday], at(2, '00:00')), null);
});

test('schedule: the next start wraps into next week and skips the current minute', () => {
  assert.deepEqual(nextWindowStart([lateFriday], at(SAT, '03:00')), { day: 'fri', time: '22:00', minutesAway: (21 + 5 * 24 + 22) * 60 });
  assert.equal(nextWindowStart([lateFriday], at(FRI, '22:00'))?.minutesAway, 7 * 1440);
  assert.equal(nextWindowStart([], at(FRI, '22:00')), null);
});

test('schedule: local time follows the configured time zone', () => {
  const instant = Date.UTC(2025, 0, 6, 23, 30); // Monday 23:30 UTC
  assert.deepEqual(localTime(instant, 'UTC'), { day: MON, minute: 23 * 60 + 30 });
  assert.deepEqual(localTime(instant, 'Asia/Tokyo'), { day: 2, minute: 8 * 60 + 30 });
  assert.deepEqual(localTime(instant, 'America/New_York'), { day: MON, minute: 18 * 60 + 30 });
});
