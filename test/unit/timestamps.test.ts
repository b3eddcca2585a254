import { describe, expect, test } from 'vitest';
import { dateFromDb } from '../../src/persistence/timestamps.js';

describe('dateFromDb', () => {
  const cases = [
    '2026-11-23 00:58:10.123456+00',
    '2026-11-23T00:58:10.123456+00:00',
    '2026-11-23 00:58:10+00',
    '2026-11-23 00:58:10.1+00',
    '2026-11-23 00:58:10.12+02',
    '2026-11-23 00:58:10.999999-05:30',
    '2026-02-28 23:59:59.9995+05:45',
    '1999-12-31 23:59:59.000001+00',
    '2026-11-23T00:58:10.123Z',
    '2026-11-23T00:58:10Z',
  ];
  test.each(cases)('%s reads as new Date() reads it', (s) => {
    expect(dateFromDb(s).getTime()).toBe(new Date(s).getTime());
  });

  test('random instants written as PostgreSQL writes them, in both shapes', () => {
    for (let n = 0; n < 2000; n++) {
      const ms = Math.floor(Math.random() * 4_000_000_000_000);
      const micros = String(Math.floor(Math.random() * 1000)).padStart(3, '0');
      const iso = new Date(ms).toISOString(); // 2026-11-23T00:58:10.123Z
      const text = `${iso.slice(0, 10)} ${iso.slice(11, 23)}${micros}+00`;
      const json = `${iso.slice(0, 23)}${micros}+00:00`;
      expect(dateFromDb(text).getTime()).toBe(ms);
      expect(dateFromDb(json).getTime()).toBe(ms);
    }
  });

  test('other shapes go to Date itself; a Date is returned as it is', () => {
    const d = new Date();
    expect(dateFromDb(d)).toBe(d);
    expect(dateFromDb('infinity').getTime()).toBeNaN();
    expect(dateFromDb('2026-11-23').getTime()).toBe(new Date('2026-11-23').getTime());
    expect(dateFromDb(1_700_000_000_000).getTime()).toBe(new Date('1700000000000').getTime());
  });
});
