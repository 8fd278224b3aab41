/**
 * What a search text asks for, read the way Postgres' `websearch_to_tsquery` reads it: alternatives
 * separated by `or`, each with words and quoted phrases that must all appear and words or phrases
 * that must not (`-word`, `-"a phrase"`). Words are lower-case runs of letters and digits;
 * everything else in the text only separates them.
 */
export interface ParsedSearch {
  alternatives: { words: string[]; phrases: string[][]; excluded: string[][] }[];
}

type Alternative = ParsedSearch['alternatives'][number];

const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const TOKEN = /(-?)"([^"]*)"?|(\S+)/g;
/** Words long enough for trigrams to say something about them. */
const MIN_FUZZY_LENGTH = 3;
/** Words shorter than this get no prefix alternative (`con:*` would match half of any code). */
const MIN_PREFIX_LENGTH = 4;
/** At most this many words of a search are looked up for similar terms. */
export const MAX_FUZZY_WORDS = 10;
/** Terms kept for fuzzy lookups are this long at most (longer runs are not words). */
const MAX_TERM_LENGTH = 40;

function wordsOf(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

function isLetters(word: string): boolean {
  return /^[\p{L}\p{M}]+$/u.test(word);
}

const isEmpty = (alternative: Alternative) => alternative.words.length + alternative.phrases.length + alternative.excluded.length === 0;

export function parseSearchText(text: string): ParsedSearch {
  const alternatives: Alternative[] = [];
  let current: Alternative = { words: [], phrases: [], excluded: [] };
  for (const [, negated, phrase, token] of text.matchAll(TOKEN)) {
    if (token !== undefined && token.toLowerCase() === 'or') {
      if (!isEmpty(current)) alternatives.push(current);
      current = { words: [], phrases: [], excluded: [] };
      continue;
    }
    const words = wordsOf(phrase ?? (token?.startsWith('-') ? token.slice(1) : (token ?? '')));
    if (words.length === 0) continue;
    if (negated || (phrase === undefined && token?.startsWith('-'))) current.excluded.push(words);
    else if (phrase !== undefined) current.phrases.push(words);
    else current.words.push(...words);
  }
  if (!isEmpty(current)) alternatives.push(current);
  return { alternatives };
}

/** The words of a search worth looking up for similar terms (typos, partial words): distinct, letters only, long enough. */
export function fuzzyLookups(search: ParsedSearch): string[] {
  const words = search.alternatives.flatMap((alternative) => alternative.words).filter((word) => word.length >= MIN_FUZZY_LENGTH && isLetters(word));
  return [...new Set(words)].slice(0, MAX_FUZZY_WORDS);
}

/**
 * The terms a text contributes to the dictionary fuzzy lookups search: its distinct words of
 * letters, lower case, sorted (concurrent writers then take their locks in one order).
 */
export function termsOf(text: string): string[] {
  const terms = text
    .toLowerCase()
    .split(/[^\p{L}\p{M}]+/u)
    .filter((term) => term.length >= MIN_FUZZY_LENGTH && term.length <= MAX_TERM_LENGTH);
  return [...new Set(terms)].sort();
}

/**
 * The forgiving form of a search, in `to_tsquery` syntax: every word may also be a term the
 * dictionary holds that looks like it (`similar`, by trigram similarity) or, from four letters on,
 * any word it begins. Phrases and exclusions stay as typed. Null when that adds nothing to the
 * search. Safe to hand to `to_tsquery`: it holds only letters, digits and its own operators.
 */
export function fuzzyQuery(search: ParsedSearch, similar: Readonly<Record<string, readonly string[]>>): string | null {
  const sequence = (words: string[]) => (words.length === 1 ? (words[0] ?? '') : `(${words.join(' <-> ')})`);
  let widened = false;
  const groups: string[][] = [];
  for (const { words, phrases, excluded } of search.alternatives) {
    if (words.length + phrases.length === 0) continue; // nothing but exclusions: not something an index can answer
    const required = words.map((word) => {
      const options = new Set([word]);
      if (isLetters(word) && word.length >= MIN_PREFIX_LENGTH) options.add(`${word}:*`);
      for (const term of similar[word] ?? []) if (isLetters(term)) options.add(term.toLowerCase());
      if (options.size > 1) widened = true;
      return options.size === 1 ? word : `(${[...options].join(' | ')})`;
    });
    groups.push([...required, ...phrases.map(sequence), ...excluded.map((words) => `!${sequence(words)}`)]);
  }
  if (!widened) return null;
  if (groups.length === 1) return groups[0]?.join(' & ') ?? null;
  return groups.map((parts) => (parts.length === 1 ? parts[0] : `(${parts.join(' & ')})`)).join(' | ');
}

/** Where `ts_headline` marks a match: private-use characters, taken out of the text first, so the text cannot fake one. */
export const MARK_START = '\uE000';
export const MARK_END = '\uE001';
/**
 * What `<` becomes before Postgres' text-search parser reads a text (see the search migration: it
 * would take `<` for the start of an HTML tag and skip what follows); snippets turn it back.
 */
export const ANGLE_BRACKET = '\u0001';
const SNIPPET_MAX_LENGTH = 300;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * A headline as clients get it: whitespace folded, at most about 300 characters, HTML-escaped (its
 * ANGLE_BRACKETs as `&lt;`), with the matches `ts_headline` marked wrapped in `<mark>…</mark>` —
 * the only markup in it.
 */
export function renderSnippet(headline: string, maxLength = SNIPPET_MAX_LENGTH): string {
  let text = headline.replace(/\s+/g, ' ').trim();
  let cut = false;
  if ([...text].length > maxLength) {
    text = [...text].slice(0, maxLength).join('');
    cut = true;
  }
  let open = false;
  let out = '';
  for (const character of text) {
    if (character === MARK_START) {
      if (!open) out += '<mark>';
      open = true;
    } else if (character === MARK_END) {
      if (open) out += '</mark>';
      open = false;
    } else if (character === ANGLE_BRACKET) {
      out += '&lt;';
    } else {
      out += HTML_ESCAPES[character] ?? character;
    }
  }
  if (open) out += '</mark>';
  return cut ? `${out}…` : out;
}
