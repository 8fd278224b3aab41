// Each project type-checks only its own folder, so the parser's type stub travels with its one user.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./observablehq-parser.d.ts" />
import type { CellKind } from '@notebooks/contracts';
import { parseCell, type CellName } from '@observablehq/parser';

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
