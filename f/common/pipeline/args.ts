// Free-form argument text from a form field (make_args, configure_args), split into an
// argument vector without a shell: words are separated by blanks, '...' and "..." group
// a word with blanks in it and a backslash escapes the next character. Nothing is
// expanded or interpreted: `;`, `|`, `$(...)`, `*` and `>` stay literal characters of
// an argument. Pure.

import { InputError } from "../errors.ts";

export function splitArgs(text: string | null | undefined, field = "args"): string[] {
  if (text === null || text === undefined) return [];
  if (typeof text !== "string") throw new InputError(field, "a string of arguments", text);
  const out: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && (text[i + 1] === '"' || text[i + 1] === "\\")) word += text[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new InputError(field, `arguments with balanced quotes (a ${quote} is not closed)`, text);
  if (inWord) out.push(word);
  return out;
}
