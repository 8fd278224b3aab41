import { WORKSPACE_ROOT } from '@notebooks/testing';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './errors';
import { REPLAY_SCRIPTS, replayScriptFor } from './replay.command';

describe(replayScriptFor.name, () => {
  it("runs the replay of the service owning the projection's schema", () => {
    expect(replayScriptFor('read-notebooks')).toBe(join(WORKSPACE_ROOT, 'apps', 'projection-service', 'src', 'replay.ts'));
    expect(replayScriptFor('read-users')).toBe(join(WORKSPACE_ROOT, 'apps', 'projection-service', 'src', 'replay.ts'));
    expect(replayScriptFor('search-documents')).toBe(join(WORKSPACE_ROOT, 'apps', 'search-service', 'src', 'replay.ts'));
  });

  it('refuses a name no service uses, saying how names are made', () => {
    expect(() => replayScriptFor('notebooks')).toThrow(UsageError);
    expect(() => replayScriptFor('nope-x')).toThrow(/read-… \(projection-service\), search-… \(search-service\)/);
  });

  it('names scripts that exist', () => {
    for (const { script } of Object.values(REPLAY_SCRIPTS)) expect(existsSync(script)).toBe(true);
  });
});
