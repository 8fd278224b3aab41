import type { CellContent } from '@notebooks/contracts';
import { programsOf, withDependents } from './notebook-graph';

const cell = (cellId: string, value: string, kind: CellContent['kind'] = 'JS'): CellContent => ({ cellId, kind, value, isClosed: false });

describe(withDependents.name, () => {
  const cells = programsOf([
    cell('a', 'x = 1'),
    cell('b', 'y = x + 1'),
    cell('c', 'z = y * 2'),
    cell('d', 'Value: ${z}', 'MARKDOWN'),
    cell('e', 'other = 3'),
    cell('f', 'w = other + x'),
  ]);

  it('selects a changed cell and everything downstream of it, in notebook order', () => {
    expect(withDependents(cells, ['b'])).toEqual(['b', 'c', 'd']);
    expect(withDependents(cells, ['a'])).toEqual(['a', 'b', 'c', 'd', 'f']);
    expect(withDependents(cells, ['e'])).toEqual(['e', 'f']);
  });

  it('follows names that are no longer defined (a deleted cell) to their readers', () => {
    const withoutY = cells.filter((cell) => cell.id !== 'b');
    expect(withDependents(withoutY, [], ['y'])).toEqual(['c', 'd']);
  });

  it('ignores cells the notebook no longer has', () => {
    expect(withDependents(cells, ['gone'])).toEqual([]);
  });

  it('re-runs the other definitions of a name when a duplicate appears or goes away', () => {
    const twice = programsOf([cell('a', 'x = 1'), cell('b', 'y = x'), cell('c', 'x = 2')]);
    expect(withDependents(twice, ['c'])).toEqual(['a', 'b', 'c']);
    const once = programsOf([cell('a', 'x = 1'), cell('b', 'y = x')]);
    expect(withDependents(once, [], ['x'])).toEqual(['a', 'b']);
  });

  it('terminates on circular definitions', () => {
    const loop = programsOf([cell('p', 'p1 = p2'), cell('q', 'p2 = p1'), cell('r', 'r = p1')]);
    expect(withDependents(loop, ['p'])).toEqual(['p', 'q', 'r']);
  });
});
