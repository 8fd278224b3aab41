/**
 * The part of `@observablehq/parser` 6.1 we use (the package ships no types). Nodes are acorn
 * ESTree nodes extended with Observable's `viewof x` / `mutable x` expressions.
 */
declare module '@observablehq/parser' {
  export interface Identifier {
    type: 'Identifier';
    name: string;
  }

  /** `viewof x`: the cell's view rather than its value. */
  export interface ViewExpression {
    type: 'ViewExpression';
    id: Identifier;
  }

  /** `mutable x`: a value other cells may assign to. */
  export interface MutableExpression {
    type: 'MutableExpression';
    id: Identifier;
  }

  export type CellName = Identifier | ViewExpression | MutableExpression;

  /** Character offsets of a node in the cell's source. */
  export interface Span {
    start: number;
    end: number;
  }

  export interface TemplateElement extends Span {
    type: 'TemplateElement';
    value: { raw: string; cooked: string | null };
  }

  export interface TemplateLiteral extends Span {
    type: 'TemplateLiteral';
    quasis: TemplateElement[];
    expressions: Span[];
  }

  /** The cell's body: an expression, a block, an import declaration, or a template (with `tag`). */
  export type CellBody = TemplateLiteral | (Span & { type: string });

  export interface Cell {
    /** What the cell defines; null for anonymous cells, imports and template cells. */
    id: CellName | null;
    /** One node per use of a name outside the cell, in source order (repeats included). */
    references: CellName[];
    /** Null for an empty cell. */
    body: CellBody | null;
    /** Whether the body awaits (the definition is an async function). */
    async: boolean;
    /** Whether the body yields (the definition is a generator function). */
    generator: boolean;
  }

  export interface ParseCellOptions {
    /** Parses the input as the body of a tagged template (`md`, `html`…): `${…}` are expressions. */
    tag?: string;
  }

  /** Throws a SyntaxError when the input is not a valid cell. */
  export function parseCell(input: string, options?: ParseCellOptions): Cell;
}
