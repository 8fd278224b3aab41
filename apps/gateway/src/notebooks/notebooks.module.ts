import { Module } from '@nestjs/common';
import { NotebookMutationsResolver } from './notebook-mutations.resolver';
import { NotebookReads } from './notebook-reads';
import { NotebookVersions } from './notebook-versions';
import { CollaboratorResolver, NotebookContributorResolver, NotebookEventResolver, NotebooksResolver } from './notebooks.resolver';
import { ReadLoadersFactory } from './read-loaders';

/** Notebooks through the gateway: commands to notebook-service, reads from the `read` schema. */
@Module({
  providers: [NotebookReads, NotebookVersions, ReadLoadersFactory, NotebooksResolver, NotebookEventResolver, NotebookContributorResolver, CollaboratorResolver, NotebookMutationsResolver],
  exports: [ReadLoadersFactory],
})
export class NotebooksModule {}
