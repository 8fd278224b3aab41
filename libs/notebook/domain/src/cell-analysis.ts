// Each project type-checks only its own folder, so the parser's type stub travels with its one user.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./observablehq-parser.d.ts" />
import type { CellKind } from '@notebooks/contracts';
import { parseCell, type Cell, type CellBody, type CellName, type TemplateLiteral } from '@observablehq/parser';

/** What a cell means to the dataflow between cells, as Observable sees it. */
export interface CellAnalysis {
  /** The name the cell defines (`x`, `viewof x`, `mutable x`); null when it defines none or several (imports). */
  name: string | null;
  /**
   * Names the cell uses from other cells, sorted by code unit, without duplicates. The parser's
   * browser globals (`Math`, `window`, `document`…) are not references; stdlib names such as `md`,
   * `html` or `width` are, because cells resolve them like any other cell.
   */
  references: string[];
}

/**
 * Markdown and HTML cells are tagged templates in Observable: `${x}` references `x`. The parser only
 * needs a tag to switch to template mode; the tag's own references are kept apart from the cell's.
 */
const TEMPLATE_TAG: Record<CellKind, string | undefined> = { JS: undefined, MARKDOWN: 'md', HTML: 'html' };

/** Never throws: a cell that does not parse (half-typed code is normal) defines and references nothing. */
export function analyzeCell(kind: CellKind, source: string): CellAnalysis {
  try {
    const cell = parseCell(source, { tag: TEMPLATE_TAG[kind] });
    return {
      name: cell.id ? nameOf(cell.id) : null,
      references: [...new Set(cell.references.map(nameOf))].sort(),
    };
  } catch {
    // SyntaxError for invalid code; anything else (e.g. a stack overflow on absurd nesting) must not
    // stop a projection either.
    return { name: null, references: [] };
  }
}

function nameOf(node: CellName): string {
  switch (node.type) {
    case 'Identifier':
      return node.name;
    case 'ViewExpression':
      return `viewof ${node.id.name}`;
    case 'MutableExpression':
      return `mutable ${node.id.name}`;
  }
}

/**
 * A cell as the Observable runtime defines it: the variable's name, its inputs (the names it
 * references, each once, in first-use order) and the code of its definition. An executor turns it
 * into `module.variable(observer).define(name, inputs, definition)`.
 */
export type CellProgram =
  | {
      type: 'function';
      name: string | null;
      inputs: string[];
      async: boolean;
      generator: boolean;
      /** The function body, braces included: the cell's block, or `{ return (expression); }`. */
      body: string;
    }
  | {
      /** A MARKDOWN or HTML cell: its text is a template whose `${…}` are JavaScript expressions. */
      type: 'template';
      name: null;
      inputs: string[];
      /** Whether an interpolation awaits (the definition is an async function). */
      async: boolean;
      tag: 'md' | 'html';
      /** The template's literal parts, raw (one more than `expressions`). */
      strings: string[];
      /** The source of each `${…}` expression. */
      expressions: string[];
    }
  | {
      /** A cell the runtime cannot define: it does not parse, or uses what a headless run lacks. */
      type: 'invalid';
      name: string | null;
      error: string;
    };

/** Never throws: what cannot be run becomes an `invalid` program whose error names the cause. */
export function cellProgram(kind: CellKind, source: string): CellProgram {
  const tag = TEMPLATE_TAG[kind];
  let cell: Cell;
  try {
    cell = parseCell(source, { tag });
  } catch (error) {
    return { type: 'invalid', name: null, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  const name = cell.id ? nameOf(cell.id) : null;
  const unsupported = unsupportedFeature(cell);
  if (unsupported) return { type: 'invalid', name, error: unsupported };
  const inputs = [...new Set(cell.references.map(nameOf))];
  const body = cell.body;
  if (tag !== undefined && isTemplate(body)) {
    return {
      type: 'template',
      name: null,
      inputs,
      async: cell.async,
      tag: tag === 'md' ? 'md' : 'html',
      strings: body.quasis.map((quasi) => quasi.value.raw),
      expressions: body.expressions.map((expression) => source.slice(expression.start, expression.end)),
    };
  }
  if (tag !== undefined) {
    // An empty MARKDOWN/HTML cell parses as empty JavaScript: it renders nothing.
    return { type: 'template', name: null, inputs: [], async: false, tag: tag === 'md' ? 'md' : 'html', strings: [''], expressions: [] };
  }
  const code = body ? source.slice(body.start, body.end) : '';
  return {
    type: 'function',
    name,
    inputs,
    async: cell.async,
    generator: cell.generator,
    // The newline ends a trailing line comment before the closing parenthesis.
    body: body?.type === 'BlockStatement' ? code : body ? `{ return (${code}\n); }` : '{}',
  };
}

function unsupportedFeature(cell: Cell): string | null {
  if (cell.body?.type === 'ImportDeclaration') return 'imports from other notebooks are not supported by headless runs yet';
  const views = [cell.id, ...cell.references].filter((node) => node !== null && node.type !== 'Identifier');
  if (views.length > 0) return `${nameOf(views[0] as CellName)}: viewof and mutable need a browser and are not supported by headless runs`;
  return null;
}

function isTemplate(body: CellBody | null): body is TemplateLiteral {
  return body?.type === 'TemplateLiteral';
}
