import { DynamicModule, Module } from '@nestjs/common';
import { EventStoreModule } from '@notebooks/platform';
import { NotebooksModule } from '../notebooks/notebooks.module';
import { RestModule } from '../rest/rest.module';
import { AllNotebooksFeed } from './all-notebooks-feed';
import { EventStreamController } from './event-stream.controller';
import { GraphqlWsServer } from './graphql-ws.server';
import { NotebookChannels } from './notebook-channels';
import { REALTIME_CONFIG, type RealtimeConfig } from './realtime.config';
import { RealtimeMetrics } from './realtime.metrics';
import { RealtimeReads } from './realtime-reads';
import { RealtimeResolver } from './realtime.resolver';

/**
 * Real time: GraphQL subscriptions over graphql-ws on `/graphql` and Server-Sent Events under
 * `/api`, all fed from JetStream (shared ordered consumers per process), never from an in-process
 * bus, so any gateway replica serves any client.
 */
@Module({})
export class RealtimeModule {
  static forRoot(config: RealtimeConfig): DynamicModule {
    return {
      module: RealtimeModule,
      imports: [EventStoreModule.forRoot(), NotebooksModule, RestModule],
      controllers: [EventStreamController],
      providers: [{ provide: REALTIME_CONFIG, useValue: config }, RealtimeMetrics, RealtimeReads, NotebookChannels, AllNotebooksFeed, RealtimeResolver, GraphqlWsServer],
    };
  }
}
