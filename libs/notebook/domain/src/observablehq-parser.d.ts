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

  export interface Cell {
    /** What the cell defines; null for anonymous cells, imports and template cells. */
    id: CellName | null;
    /** One node per use of a name outside the cell, in source order (repeats included). */
    references: CellName[];
  }

  export interface ParseCellOptions {
    /** Parses the input as the body of a tagged template (`md`, `html`…): `${…}` are expressions. */
    tag?: string;
  }

  /** Throws a SyntaxError when the input is not a valid cell. */
  export function parseCell(input: string, options?: ParseCellOptions): Cell;
}
