// Text from the network made safe for a terminal: names of peers reach `meshd status` and `meshd
// ping` output, and a terminal escape or a bidi override there would mislead the operator (issue 17,
// Low). Used by hub/bindings.ts (validation) and ops/status-format.ts (rendering).

/** C0, DEL, C1, and the bidi and zero-width controls that reorder or hide text. */
export const unsafeTextChar = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;
const unsafeTextChars = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/gu;

/** `s` with every unsafe character replaced by '?'. */
export function printable(s: string): string {
  return s.replace(unsafeTextChars, '?');
}
