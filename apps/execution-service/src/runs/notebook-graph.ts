import type { CellContent } from '@notebooks/contracts';
import { cellProgram, type CellProgram } from '@notebooks/notebook-domain';
import type { SandboxCell } from '../sandbox/sandbox';

/** Parsed programs by kind and source: a notebook's unchanged cells are not parsed again on each run. */
const programs = new Map<string, CellProgram>();
const PROGRAM_CACHE_SIZE = 20_000;

/** The notebook's cells as programs for the sandbox, in notebook order. */
export function programsOf(cells: readonly CellContent[]): SandboxCell[] {
  return cells.map((cell) => ({ id: cell.cellId, program: cachedProgram(cell) }));
}

function cachedProgram(cell: CellContent): CellProgram {
  const key = `${cell.kind}\u0000${cell.value}`;
  let program = programs.get(key);
  if (program) {
    programs.delete(key);
  } else {
    program = cellProgram(cell.kind, cell.value);
    if (programs.size >= PROGRAM_CACHE_SIZE) programs.delete(programs.keys().next().value as string);
  }
  programs.set(key, program);
  return program;
}

/**
 * The cells to re-run after `changed` cells changed (or names stopped being defined): those cells
 * and everything that depends on them, transitively, in notebook order. Cells the notebook no
 * longer has are ignored.
 */
export function withDependents(cells: readonly SandboxCell[], changed: Iterable<string>, names: Iterable<string> = []): string[] {
  const byId = new Map(cells.map((cell) => [cell.id, cell]));
  const readers = new Map<string, string[]>();
  for (const cell of cells) {
    const inputs = cell.program.type === 'invalid' ? [] : cell.program.inputs;
    for (const input of inputs) readers.set(input, [...(readers.get(input) ?? []), cell.id]);
  }
  const selected = new Set<string>();
  const pendingNames = [...names];
  const visit = (id: string) => {
    const cell = byId.get(id);
    if (!cell || selected.has(id)) return;
    selected.add(id);
    const name = cell.program.name;
    if (name !== null) pendingNames.push(name);
  };
  for (const id of changed) visit(id);
  const seenNames = new Set<string>();
  while (pendingNames.length > 0) {
    const name = pendingNames.pop() as string;
    if (seenNames.has(name)) continue;
    seenNames.add(name);
    for (const id of readers.get(name) ?? []) visit(id);
  }
  return cells.filter((cell) => selected.has(cell.id)).map((cell) => cell.id);
}
