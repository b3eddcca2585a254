/**
 * A value that a beforeAll hook produces, handed out before the hook runs: a stand-in that
 * forwards to the value once it is set and fails loudly when read too early.
 */
export interface Started<T extends object> {
  value: T;
  set(v: T): void;
  current(): T | undefined;
}

export const started = <T extends object>(what: string): Started<T> => {
  let current: T | undefined;
  const get = (): T => {
    if (!current) throw new Error(`${what}: not started yet (read it in a test or a hook, not while the file is collected)`);
    return current;
  };
  const value = new Proxy({} as T, {
    get(_target, key) {
      // Promise resolution probes `then`: the stand-in is not a promise.
      if (key === 'then' && !current) return undefined;
      const v = Reflect.get(get(), key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(current) : v;
    },
    has: (_target, key) => Reflect.has(get(), key),
    set: (_target, key, v) => Reflect.set(get(), key, v),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_target, key) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), key);
      return d ? { ...d, configurable: true } : undefined;
    },
  });
  return { value, set: (v) => void (current = v), current: () => current };
};
