import { InMemoryEventStore } from './in-memory-event-store';
import { eventStoreContract } from './testing/event-store.contract';

eventStoreContract(InMemoryEventStore.name, async () => ({ store: new InMemoryEventStore(), dispose: async () => undefined }));
