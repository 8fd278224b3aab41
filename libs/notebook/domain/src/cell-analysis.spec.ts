import { analyzeCell, cellProgram } from './cell-analysis';

describe(analyzeCell.name, () => {
  const nothing = { name: null, references: [] };

  describe('JavaScript cells', () => {
    it.each([
      ['a named value', 'x = 1', { name: 'x', references: [] }],
      ['a named expression', 'y = x + z', { name: 'y', references: ['x', 'z'] }],
      ['an anonymous expression', 'x * 2', { name: null, references: ['x'] }],
      ['a function declaration, named by the function', 'function f(a) { return a + b }', { name: 'f', references: ['b'] }],
      ['a class declaration, named by the class', 'class C extends Base {}', { name: 'C', references: ['Base'] }],
      ['an anonymous block', '{ return x }', { name: null, references: ['x'] }],
      ['a named block, whose locals are not references', 'total = { const n = 2; return n * price }', { name: 'total', references: ['price'] }],
      ['a view', 'viewof s = slider(0, max)', { name: 'viewof s', references: ['max', 'slider'] }],
      ['a mutable', 'mutable m = 1', { name: 'mutable m', references: [] }],
      ['a cell using a view and a mutable', 'viewof s.value + mutable m', { name: null, references: ['mutable m', 'viewof s'] }],
      ['a cell referencing itself', 'y = y', { name: 'y', references: ['y'] }],
    ])('%s: %s', (_, source, expected) => {
      expect(analyzeCell('JS', source)).toEqual(expected);
    });

    it('lists each reference once, sorted by code unit', () => {
      expect(analyzeCell('JS', 'b + a + b + Z + a')).toEqual({ name: null, references: ['Z', 'a', 'b'] });
    });

    it("leaves out the parser's browser globals but keeps stdlib names, which cells resolve like any other", () => {
      expect(analyzeCell('JS', 'Math.max(window.innerWidth, width) + md`x` + d3.sum([])')).toEqual({
        name: null,
        references: ['d3', 'md', 'width'],
      });
    });

    it('an import defines several names, so no single name; it references only the names it injects', () => {
      expect(analyzeCell('JS', 'import {a, viewof b as c} from "@user/other"')).toEqual(nothing);
      expect(analyzeCell('JS', 'import {chart} with {data as source} from "@user/other"')).toEqual({ name: null, references: ['data'] });
    });

    it.each([
      ['an unfinished assignment', 'x = '],
      ['two statements outside a block', 'x = 1; y = 2'],
      ['an unclosed call', 'plot(data'],
      ['a reserved global redefined', 'Math = 1'],
      ['the forbidden `arguments`', 'arguments'],
    ])('%s defines and references nothing instead of throwing', (_, source) => {
      expect(analyzeCell('JS', source)).toEqual(nothing);
    });

    it.each([[''], ['   '], ['// only a comment']])('%j defines and references nothing', (source) => {
      expect(analyzeCell('JS', source)).toEqual(nothing);
    });
  });

  describe('template cells', () => {
    it('markdown references the names it interpolates and defines none', () => {
      expect(analyzeCell('MARKDOWN', '# Hello ${name}\n\n`code` and ${count + 1} items for ${name}')).toEqual({
        name: null,
        references: ['count', 'name'],
      });
    });

    it('html references the names it interpolates', () => {
      expect(analyzeCell('HTML', '<b>${viewof s.value}</b> ${label}')).toEqual({ name: null, references: ['label', 'viewof s'] });
    });

    it('text that would be JavaScript is only text in a template', () => {
      expect(analyzeCell('MARKDOWN', 'x = y + 1')).toEqual(nothing);
      expect(analyzeCell('HTML', '')).toEqual(nothing);
    });

    it('an unclosed interpolation defines and references nothing instead of throwing', () => {
      expect(analyzeCell('MARKDOWN', 'Hello ${name')).toEqual(nothing);
    });
  });
});

describe(cellProgram.name, () => {
  it('turns an expression cell into a function of its references, each once, in first-use order', () => {
    expect(cellProgram('JS', 'z = y * x + y')).toEqual({
      type: 'function',
      name: 'z',
      inputs: ['y', 'x'],
      async: false,
      generator: false,
      body: '{ return (y * x + y\n); }',
    });
  });

  it('keeps a block body as it is and notes await and yield', () => {
    expect(cellProgram('JS', 'slow = { await delay(1); return 2; }')).toMatchObject({ type: 'function', name: 'slow', async: true, generator: false, body: '{ await delay(1); return 2; }' });
    expect(cellProgram('JS', '{ yield 1; }')).toMatchObject({ type: 'function', name: null, async: false, generator: true });
  });

  it('defines named functions and classes under their names', () => {
    expect(cellProgram('JS', 'function twice(n) { return 2 * n; }')).toMatchObject({ type: 'function', name: 'twice', inputs: [], body: '{ return (function twice(n) { return 2 * n; }\n); }' });
    expect(cellProgram('JS', 'class Point {}')).toMatchObject({ name: 'Point' });
  });

  it('makes markdown and HTML cells templates: raw text between the interpolated expressions', () => {
    expect(cellProgram('MARKDOWN', '# Hi ${name}, `${n + 1}` \\o/')).toEqual({
      type: 'template',
      name: null,
      inputs: ['name', 'n'],
      async: false,
      tag: 'md',
      strings: ['# Hi ', ', `', '` \\o/'],
      expressions: ['name', 'n + 1'],
    });
    expect(cellProgram('HTML', '')).toEqual({ type: 'template', name: null, inputs: [], async: false, tag: 'html', strings: [''], expressions: [] });
    expect(cellProgram('MARKDOWN', 'Soon: ${await later}')).toMatchObject({ type: 'template', async: true, inputs: ['later'] });
  });

  it('reports what cannot run, naming the cause', () => {
    expect(cellProgram('JS', 'x = (1 +')).toEqual({ type: 'invalid', name: null, error: expect.stringMatching(/^SyntaxError: /) });
    expect(cellProgram('JS', 'import {a} from "@user/notebook"')).toMatchObject({ type: 'invalid', error: expect.stringContaining('imports') });
    expect(cellProgram('JS', 'viewof slider = 1')).toMatchObject({ type: 'invalid', name: 'viewof slider', error: expect.stringContaining('viewof') });
    expect(cellProgram('JS', 'y = mutable x + 1')).toMatchObject({ type: 'invalid', name: 'y', error: expect.stringContaining('mutable x') });
  });
});
