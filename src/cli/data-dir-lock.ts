/**
 * One process at a time on an embedded (PGlite) data directory. PGlite runs PostgreSQL
 * inside the process, so two processes opening the same files (say `orgway serve` and
 * `orgway bootstrap`) would each keep their own view and overwrite each other's writes.
 *
 * The lock is `<dataDir>/orgway.lock` holding the owner's pid. A lock whose process is
 * gone (killed, crashed) is stale and taken over.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Takes the lock or throws DataDirLockedError; returns the release function (also run at exit). */
export const lockDataDir = (dataDir: string): (() => void) => {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'orgway.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner))
        throw new DataDirLockedError(
          `the embedded database in ORGWAY_DATA_DIR (${dataDir}) is in use by process ${owner}. ` +
            'PGlite allows one process at a time: stop that process first (e.g. run `orgway bootstrap` before `orgway serve`), ' +
            'or use PostgreSQL through DATABASE_URL.',
        );
      // Stale: its process is gone.
      try {
        unlinkSync(file);
      } catch {
        // Someone else removed it first; try again.
      }
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      try {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
      } catch {
        // Already gone.
      }
    };
    process.once('exit', release);
    return release;
  }
  throw new DataDirLockedError(`could not lock ORGWAY_DATA_DIR (${dataDir}); another process keeps taking it.`);
};
