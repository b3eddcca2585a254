/**
 * SPEC §8 Text: a string with NUL or an unpaired UTF-16 surrogate is refused at the edge
 * it arrives by (GraphQL, SCIM), once for the whole input, before any field is read.
 * PostgreSQL refuses NUL in text (an error, not an answer) and a lone surrogate would be
 * stored as U+FFFD (silently different text).
 */
export const isWellFormedText = (s: string): boolean => !s.includes('\0') && s.isWellFormed();

/**
 * Where the first string (or object key) of a JSON value that is not well-formed text
 * sits, as a path such as `emails[0].value`; null when every string is well formed.
 * Iterative, so a deeply nested body cannot exhaust the stack.
 */
export const findIllFormedText = (value: unknown, root = ''): string | null => {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isWellFormedText(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const childPath = path ? `${path}.${key}` : key;
        if (!isWellFormedText(key)) return childPath;
        stack.push([child, childPath]);
      }
    }
  }
  return null;
};

export const ILL_FORMED_TEXT = 'contains a NUL character or an unpaired UTF-16 surrogate; send well-formed Unicode text';
