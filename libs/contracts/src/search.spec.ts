import { randomUUID } from 'node:crypto';
import { SearchRequest } from './search';

describe('SearchRequest', () => {
  const parse = (query: string, first = 20, viewerId: string | null = null) => SearchRequest.safeParse({ query, first, viewerId });

  it('takes any text up to 500 characters, trimmed, control characters as spaces', () => {
    expect(parse(`  '; drop table x; -- <script>&|!:*() `).data?.query).toBe(`'; drop table x; -- <script>&|!:*()`);
    expect(parse('a\u0000b\u0085c\nd').data?.query).toBe('a b c d');
    expect(parse('x'.repeat(500)).success).toBe(true);
    expect(parse('\ud800orphan').data?.query).toBe('\ufffdorphan');
  });

  it('refuses text with nothing in it, and text over 500 characters as sent', () => {
    for (const query of ['', '   ', '\n\t\u0000', 'x'.repeat(501), ` ${'x'.repeat(499)} `]) expect({ query, success: parse(query).success }).toEqual({ query, success: false });
  });

  it('pages 1 to 100 results, for a user or anonymously', () => {
    expect([0, 1, 100, 101, 2.5].map((first) => parse('x', first).success)).toEqual([false, true, true, false, false]);
    expect(parse('x', 1, randomUUID()).success).toBe(true);
    expect(parse('x', 1, 'not-a-uuid').success).toBe(false);
  });
});
