import { Module } from '@nestjs/common';
import { GatewayContexts } from '../graphql/context';
import { NotebookCommands } from './notebook-commands';
import { NotebookMutationsResolver } from './notebook-mutations.resolver';
import { NotebookQueries } from './notebook-queries';
import { NotebookReads } from './notebook-reads';
import { NotebookVersions } from './notebook-versions';
import { CellResolver, CollaboratorResolver, NotebookContributorResolver, NotebookEventResolver, NotebooksResolver } from './notebooks.resolver';
import { ReadLoadersFactory } from './read-loaders';

/** Notebooks through the gateway (GraphQL, and the services REST shares): commands to notebook-service, reads from the `read` schema, request contexts. */
@Module({
  providers: [
    NotebookReads,
    NotebookVersions,
    ReadLoadersFactory,
    GatewayContexts,
    NotebookQueries,
    NotebookCommands,
    NotebooksResolver,
    NotebookEventResolver,
    NotebookContributorResolver,
    CollaboratorResolver,
    CellResolver,
    NotebookMutationsResolver,
  ],
  exports: [ReadLoadersFactory, GatewayContexts, NotebookQueries, NotebookCommands, NotebookReads, NotebookVersions],
})
export class NotebooksModule {}
