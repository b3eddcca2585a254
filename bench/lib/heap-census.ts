/**
 * A census of the V8 heap: live objects grouped by constructor (or kind), with
 * their count and shallow size, from a heap snapshot. Comparing two censuses shows
 * what each added subscriber costs, object by object.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { writeHeapSnapshot } from 'node:v8';

export type Census = Record<string, { count: number; bytes: number }>;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export const heapCensus = async (): Promise<Census> => {
  const file = writeHeapSnapshot(`${tmpdir()}/orgway-bench-${process.pid}-${Date.now()}.heapsnapshot`);
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
    const fields = s.snapshot.meta.node_fields;
    const width = fields.length;
    const TYPE = fields.indexOf('type');
    const NAME = fields.indexOf('name');
    const SIZE = fields.indexOf('self_size');
    const types = s.snapshot.meta.node_types[0];
    const census: Census = {};
    for (let i = 0; i < s.nodes.length; i += width) {
      const type = types[s.nodes[i + TYPE]!] ?? '?';
      const name = s.strings[s.nodes[i + NAME]!] ?? '?';
      const key =
        type === 'object' || type === 'native'
          ? name
          : type === 'closure'
            ? `(closure) ${name || 'anonymous'}`
            : type === 'string' || type === 'concatenated string' || type === 'sliced string'
              ? '(strings)'
              : `(${type})${type === 'hidden' || type === 'array' || type === 'code' ? ` ${name.slice(0, 40)}` : ''}`;
      const entry = (census[key] ??= { count: 0, bytes: 0 });
      entry.count += 1;
      entry.bytes += s.nodes[i + SIZE]!;
    }
    return census;
  } finally {
    await rm(file, { force: true });
  }
};

/** The largest growths from `before` to `after`, per `per` (e.g. per subscriber). */
export const censusGrowth = (before: Census, after: Census, per: number, top = 25): string => {
  const rows = Object.entries(after)
    .map(([k, a]) => {
      const b = before[k] ?? { count: 0, bytes: 0 };
      return { k, count: (a.count - b.count) / per, bytes: (a.bytes - b.bytes) / per };
    })
    .sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((n, r) => n + r.bytes, 0);
  return [
    `  shallow heap growth per subscriber: ${(total / 1024).toFixed(2)} KiB; largest:`,
    ...rows.slice(0, top).map((r) => `    ${(r.bytes / 1024).toFixed(2).padStart(7)} KiB  ${r.count.toFixed(1).padStart(6)} ×  ${r.k}`),
  ].join('\n');
};
