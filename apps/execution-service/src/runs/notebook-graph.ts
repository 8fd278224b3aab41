import type { CellContent } from '@notebooks/contracts';
import { cellProgram, type CellProgram } from '@notebooks/notebook-domain';
import { createHash } from 'node:crypto';
import type { SandboxCell } from '../sandbox/sandbox';

/**
 * Parsed programs by a digest of kind and source: a notebook's unchanged cells are not parsed again
 * on each run. Bounded by the characters the programs hold, since one cell may be 256 KiB.
 */
const programs = new Map<string, { program: CellProgram; size: number }>();
const PROGRAM_CACHE_CHARS = 32 * 1024 * 1024;
let cachedChars = 0;

/** The notebook's cells as programs for the sandbox, in notebook order. */
export function programsOf(cells: readonly CellContent[]): SandboxCell[] {
  return cells.map((cell) => ({ id: cell.cellId, program: cachedProgram(cell) }));
}

function cachedProgram(cell: CellContent): CellProgram {
  const key = createHash('sha256').update(cell.kind).update('\u0000').update(cell.value).digest('base64');
  let entry = programs.get(key);
  if (entry) {
    programs.delete(key);
  } else {
    entry = { program: cellProgram(cell.kind, cell.value), size: cell.value.length };
    cachedChars += entry.size;
    for (const [oldest, { size }] of programs) {
      if (cachedChars <= PROGRAM_CACHE_CHARS) break;
      programs.delete(oldest);
      cachedChars -= size;
    }
  }
  programs.set(key, entry);
  return entry.program;
}

/**
 * The cells to re-run after `changed` cells changed (or names stopped being defined): those cells
 * and everything that depends on them, transitively, in notebook order. Cells the notebook no
 * longer has are ignored.
 */
export function withDependents(cells: readonly SandboxCell[], changed: Iterable<string>, names: Iterable<string> = []): string[] {
  const byId = new Map(cells.map((cell) => [cell.id, cell]));
  const readers = new Map<string, string[]>();
  const definers = new Map<string, string[]>();
  const add = (index: Map<string, string[]>, name: string, id: string) => {
    const ids = index.get(name);
    if (ids) ids.push(id);
    else index.set(name, [id]);
  };
  for (const cell of cells) {
    for (const input of cell.program.type === 'invalid' ? [] : cell.program.inputs) add(readers, input, cell.id);
    if (cell.program.name !== null) add(definers, cell.program.name, cell.id);
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
    // Readers of the name, and every other cell defining it: a duplicate appearing or going away
    // changes those too ("defined more than once", or not any more).
    for (const id of readers.get(name) ?? []) visit(id);
    for (const id of definers.get(name) ?? []) visit(id);
  }
  return cells.filter((cell) => selected.has(cell.id)).map((cell) => cell.id);
}
