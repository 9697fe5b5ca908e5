/**
 * A large body's unknown top-level fields, counted without JSON.parse: parsing builds an object of
 * every field (8,000 of them in 60 KB cost ~10 ms, and zod's report of them as much again), which
 * would make a refusal cost many times the valid request it stands in for. One pass over the text
 * reads the top-level keys and skips the values by their brackets and strings.
 */

/** How many of the object's top-level keys `known` lacks, and the first `keep` of them; null when
 * the text is not one JSON object that this pass can read (JSON.parse then decides). */
export function unknownTopLevelFields(
  text: string,
  known: ReadonlySet<string>,
  keep: number,
): { count: number; first: string[] } | null {
  const n = text.length;
  let i = 0;
  const space = () => {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
    }
  };
  /** From an opening quote at i: the index after its closing quote, or -1. */
  const stringEnd = (): number => {
    for (let j = i + 1; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === 34) return j + 1; // "
      if (c === 92) j++; // \ escapes the next character
    }
    return -1;
  };
  space();
  if (text.charCodeAt(i) !== 123) return null; // {
  i++;
  let count = 0;
  const first: string[] = [];
  space();
  if (text.charCodeAt(i) === 125) { // {}
    i++;
    space();
    return i === n ? { count, first } : null;
  }
  for (;;) {
    space();
    if (text.charCodeAt(i) !== 34) return null;
    const end = stringEnd();
    if (end < 0) return null;
    let key = text.slice(i + 1, end - 1);
    if (key.includes("\\")) {
      try {
        key = JSON.parse(text.slice(i, end));
      } catch {
        return null;
      }
    }
    i = end;
    space();
    if (text.charCodeAt(i) !== 58) return null; // :
    i++;
    // The value: up to the comma or brace that closes it at this level.
    let depth = 0;
    for (;;) {
      if (i >= n) return null;
      const c = text.charCodeAt(i);
      if (c === 34) {
        const after = stringEnd();
        if (after < 0) return null;
        i = after;
        continue;
      }
      if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        if (depth === 0) break;
        depth--;
      } else if (c === 44 && depth === 0) break;
      i++;
    }
    if (!known.has(key)) {
      count++;
      if (first.length < keep) first.push(key);
    }
    if (text.charCodeAt(i) === 44) { // ,
      i++;
      continue;
    }
    if (text.charCodeAt(i) !== 125) return null; // }
    i++;
    space();
    return i === n ? { count, first } : null;
  }
}
