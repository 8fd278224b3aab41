import { evolve, initialState, type NotebookState } from './notebook.decider';
import { permission, type NotebookAction } from './notebook.permissions';

describe(permission.name, () => {
  const owner = 'owner';
  const notebook = (visibility: 'PRIVATE' | 'PUBLIC'): NotebookState =>
    [
      { type: 'notebook.created' as const, data: { ownerId: owner, title: 'T', description: null, visibility, forkedFrom: null } },
      { type: 'notebook.shared' as const, data: { userId: 'editor', role: 'EDITOR' as const } },
      { type: 'notebook.shared' as const, data: { userId: 'viewer', role: 'VIEWER' as const } },
    ].reduce(evolve, initialState());
  const actions: NotebookAction[] = ['read', 'edit-content', 'run', 'edit-settings', 'share', 'delete'];
  const matrix = (state: NotebookState, actor: string) => Object.fromEntries(actions.map((a) => [a, permission(state, actor, a)]));

  it('lets the owner do everything', () => {
    expect(matrix(notebook('PRIVATE'), owner)).toEqual({ read: 'allowed', 'edit-content': 'allowed', run: 'allowed', 'edit-settings': 'allowed', share: 'allowed', delete: 'allowed' });
  });

  it('lets an editor read and edit content, nothing more', () => {
    expect(matrix(notebook('PRIVATE'), 'editor')).toEqual({ read: 'allowed', 'edit-content': 'allowed', run: 'allowed', 'edit-settings': 'forbidden', share: 'forbidden', delete: 'forbidden' });
  });

  it('lets a viewer read only', () => {
    expect(matrix(notebook('PRIVATE'), 'viewer')).toEqual({ read: 'allowed', 'edit-content': 'forbidden', run: 'forbidden', 'edit-settings': 'forbidden', share: 'forbidden', delete: 'forbidden' });
  });

  it('hides a private notebook from everyone else, and lets anyone read a public one', () => {
    expect(new Set(Object.values(matrix(notebook('PRIVATE'), 'stranger')))).toEqual(new Set(['hidden']));
    expect(matrix(notebook('PUBLIC'), 'stranger')).toEqual({ read: 'allowed', 'edit-content': 'forbidden', run: 'forbidden', 'edit-settings': 'forbidden', share: 'forbidden', delete: 'forbidden' });
  });
});
