import { ANGLE_BRACKET, fuzzyLookups, fuzzyQuery, MARK_END, MARK_START, parseSearchText, renderSnippet, termsOf } from './search-text';

describe(parseSearchText.name, () => {
  it('reads words, quoted phrases, exclusions and `or` as websearch_to_tsquery does', () => {
    expect(parseSearchText('Running  "planet orbits" -draft -"old notes" OR kepler')).toEqual({
      alternatives: [
        { words: ['running'], phrases: [['planet', 'orbits']], excluded: [['draft'], ['old', 'notes']] },
        { words: ['kepler'], phrases: [], excluded: [] },
      ],
    });
  });

  it('keeps letters and digits of any script; anything else only separates words', () => {
    expect(parseSearchText(`'; drop table <script>alert(1)</script> Café x2`)).toEqual({
      alternatives: [{ words: ['drop', 'table', 'script', 'alert', '1', 'script', 'café', 'x2'], phrases: [], excluded: [] }],
    });
    expect(parseSearchText('&|!:*() "" - or OR')).toEqual({ alternatives: [] });
    expect(parseSearchText('"unclosed phrase')).toEqual({ alternatives: [{ words: [], phrases: [['unclosed', 'phrase']], excluded: [] }] });
  });
});

describe(fuzzyLookups.name, () => {
  it('looks up distinct words of three letters or more, never excluded ones or numbers', () => {
    expect(fuzzyLookups(parseSearchText('pi Keplr keplr x2 2024 -orbit or planetry'))).toEqual(['keplr', 'planetry']);
  });

  it('looks up ten words at most', () => {
    const words = Array.from({ length: 20 }, (_, i) => `word${String.fromCharCode(97 + i)}`);
    expect(fuzzyLookups(parseSearchText(words.join(' ')))).toHaveLength(10);
  });
});

describe(fuzzyQuery.name, () => {
  it('lets each word be itself, a word it begins, or a similar term; exclusions stay', () => {
    const search = parseSearchText('keplr pi -draft');
    expect(fuzzyQuery(search, { keplr: ['kepler', 'keplers'] })).toBe('(keplr | keplr:* | kepler | keplers) & pi & !draft');
  });

  it('joins alternatives with | and drops those that only exclude', () => {
    expect(fuzzyQuery(parseSearchText('orbi or -x or pi'), {})).toBe('(orbi | orbi:*) | pi');
    expect(fuzzyQuery(parseSearchText('orbi or kepl pi'), {})).toBe('(orbi | orbi:*) | ((kepl | kepl:*) & pi)');
  });

  it('keeps phrases and excluded phrases as typed', () => {
    expect(fuzzyQuery(parseSearchText('"quasar light" orbi -"old notes"'), {})).toBe('(orbi | orbi:*) & (quasar <-> light) & !(old <-> notes)');
  });

  it('is null when it would add nothing to the search as typed', () => {
    expect(fuzzyQuery(parseSearchText('pi x2 "to be"'), {})).toBeNull();
    expect(fuzzyQuery(parseSearchText('"quasar light"'), {})).toBeNull();
    expect(fuzzyQuery(parseSearchText('-orbits'), { orbits: ['orbit'] })).toBeNull();
    expect(fuzzyQuery({ alternatives: [] }, {})).toBeNull();
  });

  it('takes only letter terms from the dictionary, so the query stays well-formed', () => {
    expect(fuzzyQuery(parseSearchText('abc'), { abc: ["ab'c", 'a|b', 'abcd'] })).toBe('(abc | abcd)');
  });
});

describe(termsOf.name, () => {
  it('gives distinct lower-case words of letters, three to forty long, sorted', () => {
    expect(termsOf(`const Orbit = kepler(x2, "Orbit"); // Kepler's été ${'a'.repeat(41)}`)).toEqual(['const', 'kepler', 'orbit', 'été']);
  });
});

describe(renderSnippet.name, () => {
  const marked = (text: string) => `${MARK_START}${text}${MARK_END}`;

  it('escapes the text and turns the marks into <mark> elements', () => {
    expect(renderSnippet(`<script>alert("${marked('x')}")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;<mark>x</mark>&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
  });

  it('turns the stand-in for `<` back into an escaped one', () => {
    expect(renderSnippet(`${ANGLE_BRACKET}b>${marked('bold')}${ANGLE_BRACKET}/b> a${ANGLE_BRACKET}b`)).toBe('&lt;b&gt;<mark>bold</mark>&lt;/b&gt; a&lt;b');
  });

  it('folds whitespace', () => {
    expect(renderSnippet(`  a\n\n\tb  ${marked('c')}\n`)).toBe('a b <mark>c</mark>');
  });

  it('cuts long text, closing a mark it cuts through and saying it was cut', () => {
    expect(renderSnippet(`abc ${marked('defgh')} ij`, 6)).toBe('abc <mark>d</mark>…');
    expect(renderSnippet('😀😀😀', 2)).toBe('😀😀…');
  });

  it('ignores stray or repeated marks', () => {
    expect(renderSnippet(`${MARK_END}a${MARK_START}${MARK_START}b${MARK_END}${MARK_END}`)).toBe('a<mark>b</mark>');
  });
});
