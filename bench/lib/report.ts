/** The figures table (terminal and Markdown) and the generated block of bench/README.md. */
import { readFile, writeFile } from 'node:fs/promises';

export type Verdict = 'met' | 'missed' | 'n/a';

export interface Row {
  figure: string;
  gateway: string;
  floor: string;
  ratio: string;
  target: string;
  verdict: Verdict;
  /** How far off a missed target is, in words. */
  missedBy?: string;
}

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';

export const median = (xs: number[]): number => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A "higher is better" ratio against a minimum. */
export const ratioRow = (figure: string, gateway: number, floor: number, min: number, unit: string): Row => {
  const ratio = gateway / floor;
  const met = ratio >= min;
  return {
    figure,
    gateway: `${fmt(gateway, 0)} ${unit}`,
    floor: `${fmt(floor, 0)} ${unit}`,
    ratio: `${fmt(ratio, 2)}×`,
    target: `≥ ${min}× floor`,
    verdict: Number.isFinite(ratio) ? (met ? 'met' : 'missed') : 'n/a',
    ...(met || !Number.isFinite(ratio)
      ? {}
      : {
          missedBy: `${figure}: ${fmt(ratio, 2)}× instead of ≥ ${min}× — ${fmt((min - ratio) * 100 / min, 0)}% short; the gateway needs ${fmt(min * floor, 0)} ${unit} (+${fmt((min * floor / gateway - 1) * 100, 0)}%) to meet it.`,
        }),
  };
};

/** A "lower is better" figure against a maximum. */
export const maxRow = (figure: string, value: number, max: number, unit: string, digits = 1): Row => {
  const met = value < max;
  return {
    figure,
    gateway: `${fmt(value, digits)} ${unit}`,
    floor: '—',
    ratio: '—',
    target: `< ${max} ${unit}`,
    verdict: Number.isFinite(value) ? (met ? 'met' : 'missed') : 'n/a',
    ...(met || !Number.isFinite(value)
      ? {}
      : { missedBy: `${figure}: ${fmt(value, digits)} ${unit} instead of < ${max} ${unit} — over by ${fmt(value - max, digits)} ${unit} (${fmt(((value - max) / max) * 100, 0)}%).` }),
  };
};

export const infoRow = (figure: string, gateway: string, floor = '—', ratio = '—'): Row => ({ figure, gateway, floor, ratio, target: '—', verdict: 'n/a' });

const COLUMNS: { key: keyof Row; title: string }[] = [
  { key: 'figure', title: 'figure' },
  { key: 'gateway', title: 'gateway' },
  { key: 'floor', title: 'floor' },
  { key: 'ratio', title: 'ratio' },
  { key: 'target', title: 'target' },
  { key: 'verdict', title: 'result' },
];

export const textTable = (rows: Row[]): string => {
  const cell = (r: Row, k: keyof Row) => (k === 'verdict' && r.verdict === 'n/a' ? '' : String(r[k] ?? ''));
  const widths = COLUMNS.map((c) => Math.max(c.title.length, ...rows.map((r) => cell(r, c.key).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(COLUMNS.map((c) => c.title)), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map((r) => line(COLUMNS.map((c) => cell(r, c.key))))].join('\n');
};

export const markdownTable = (rows: Row[]): string => {
  const cell = (r: Row, k: keyof Row) => (k === 'verdict' ? (r.verdict === 'met' ? '**met**' : r.verdict === 'missed' ? '**missed**' : '') : String(r[k] ?? ''));
  return [
    `| ${COLUMNS.map((c) => c.title).join(' | ')} |`,
    `| ${COLUMNS.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${COLUMNS.map((c) => cell(r, c.key).replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
};

export const START_MARK = '<!-- bench:figures:start (written by `npm run bench`; edit outside this block) -->';
export const END_MARK = '<!-- bench:figures:end -->';

/** Replaces the generated block of the README (appends one when it is missing). */
export const writeFiguresBlock = async (readmePath: string, block: string): Promise<void> => {
  const text = await readFile(readmePath, 'utf8').catch(() => '# Benchmark\n');
  const body = `${START_MARK}\n${block.trim()}\n${END_MARK}`;
  const start = text.indexOf(START_MARK);
  const end = text.indexOf(END_MARK);
  const next = start >= 0 && end > start ? `${text.slice(0, start)}${body}${text.slice(end + END_MARK.length)}` : `${text.trimEnd()}\n\n${body}\n`;
  await writeFile(readmePath, next);
};
