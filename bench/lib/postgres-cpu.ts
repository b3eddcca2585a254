/** PostgreSQL's share of the work: CPU time of the backends serving one database. */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds per PostgreSQL backend serving `database` (Linux /proc; null elsewhere). Backends
 * are matched by their process title ("postgres: <user> <database> …"); background processes
 * (WAL writer, checkpointer) are not counted.
 */
export const postgresCpu = (database: string): Map<string, number> | null => {
  try {
    const ticks = 100; // USER_HZ on Linux
    const out = new Map<string, number>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${database} `)) continue;
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        out.set(pid, (Number(fields[11]) + Number(fields[12])) / ticks); // utime, stime
      } catch {
        // the process ended meanwhile
      }
    }
    return out;
  } catch {
    return null;
  }
};

export const cpuDelta = (before: Map<string, number> | null, after: Map<string, number> | null): number | null => {
  if (!before || !after || after.size === 0) return null;
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
};
