/**
 * Timestamps as PostgreSQL writes them ('2026-11-23 00:58:10.123456+00' as text,
 * '2026-11-23T00:58:10.123456+00:00' inside JSON), read without `new Date(string)`.
 * A page of the Viewer query reads ~500 of them, and V8's general date parser was a
 * visible part of its CPU time. Anything not in that shape goes to `new Date`.
 */
const NOT_A_DIGIT = -1;

const digitAt = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NOT_A_DIGIT;
};

const number = (s: string, from: number, length: number): number => {
  let v = 0;
  for (let i = from; i < from + length; i++) {
    const d = digitAt(s, i);
    if (d === NOT_A_DIGIT) return Number.NaN;
    v = v * 10 + d;
  }
  return v;
};

const parse = (s: string): number => {
  if (s.length < 20 || s[4] !== '-' || s[7] !== '-' || (s[10] !== ' ' && s[10] !== 'T') || s[13] !== ':' || s[16] !== ':') return Number.NaN;
  let i = 19;
  let ms = 0;
  if (s[i] === '.') {
    i += 1;
    // Milliseconds are the first three digits; further digits are cut off, as Date does.
    for (let k = 0; digitAt(s, i) !== NOT_A_DIGIT; k++, i++) if (k < 3) ms += digitAt(s, i) * (k === 0 ? 100 : k === 1 ? 10 : 1);
  }
  let offsetMinutes = 0;
  const sign = s[i];
  if (sign === 'Z') i += 1;
  else if (sign === '+' || sign === '-') {
    const hours = number(s, i + 1, 2);
    i += 3;
    let minutes = 0;
    if (s[i] === ':') i += 1;
    if (i < s.length) {
      minutes = number(s, i, 2);
      i += 2;
    }
    offsetMinutes = (sign === '-' ? -1 : 1) * (hours * 60 + minutes);
  } else return Number.NaN;
  if (i !== s.length) return Number.NaN;
  const t = Date.UTC(number(s, 0, 4), number(s, 5, 2) - 1, number(s, 8, 2), number(s, 11, 2), number(s, 14, 2), number(s, 17, 2), ms);
  return t - offsetMinutes * 60_000;
};

/** A Date from what the driver returned for a timestamptz (a Date, or text as above). */
export const dateFromDb = (v: unknown): Date => {
  if (v instanceof Date) return v;
  const s = String(v);
  const t = parse(s);
  return Number.isNaN(t) ? new Date(s) : new Date(t);
};
