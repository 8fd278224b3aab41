import { EventRegistry, type Decider, type DomainEvent } from '@notebooks/contracts';
import { createTestInfra, type TestInfra } from '@notebooks/testing';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { NO_STREAM } from './event-store';
import { loadAggregate } from './handle-command';
import { JetStreamEventStore } from './jetstream-event-store';

/** A title change as first published (v1), and as it is now (v2: the title split into text and language). */
const RenamedV1 = z.object({ title: z.string() });
const RenamedV2 = z.object({ title: z.object({ text: z.string(), language: z.string() }) });
type Renamed = DomainEvent<'notebook.updated', z.infer<typeof RenamedV2>>;

describe('stored events under an old schema version', () => {
  let infra: TestInfra;

  beforeAll(async () => {
    infra = await createTestInfra();
  });

  afterAll(() => infra.dispose());

  it('are read back in the current shape once a new version and its upcaster are registered', async () => {
    const store = await JetStreamEventStore.create(await infra.connectNats(), { namespace: infra.namespace });
    const ref = { category: 'notebooks' as const, id: randomUUID() };
    const v1Registry = new EventRegistry<DomainEvent>().register('notebook.updated', 1, RenamedV1);
    await store.append(
      ref,
      { events: [{ type: 'notebook.updated', data: { title: 'Plots' } }], schemaVersions: { 'notebook.updated': v1Registry.currentVersion('notebook.updated') }, actorId: 'u1' },
      NO_STREAM,
    );

    const registry = new EventRegistry<Renamed>()
      .register('notebook.updated', 1, RenamedV1)
      .register('notebook.updated', 2, RenamedV2)
      .registerUpcaster<z.infer<typeof RenamedV1>>('notebook.updated', 1, ({ title }) => ({ title: { text: title, language: 'en' } }));
    const titles: Decider<never, Renamed, string[]> = {
      initialState: () => [],
      decide: () => [],
      evolve: (state, event) => [...state, `${event.data.title.text} (${event.data.title.language})`],
    };
    const { state, position } = await loadAggregate(store, titles, ref, { decode: (envelope) => registry.decode(envelope) });

    expect(state).toEqual(['Plots (en)']);
    expect(position.version).toBe(1);
  });
});
