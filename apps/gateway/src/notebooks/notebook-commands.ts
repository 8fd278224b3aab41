import { Injectable } from '@nestjs/common';
import { NotebookCommandInput, NotebookCommandReply, NotebookCommandRequest, NotebookSubjects } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import type { GatewayContext } from '../graphql/context';
import { gatewayError, parseInput, requireViewer } from '../graphql/errors';
import { NotebookVersions } from './notebook-versions';
import type { Notebook, NotebookChange } from './notebook.models';

/** The optional arguments of a command, as GraphQL passes them (null for not given). */
export interface CommandOptions {
  expectedVersion?: number | null;
  idempotencyKey?: string | null;
}
const RequestOptions = NotebookCommandRequest.pick({ expectedVersion: true, idempotencyKey: true });

/**
 * Notebook and cell commands, for GraphQL mutations and REST routes alike: validated here,
 * authorized and decided by notebook-service against the notebook as it is in the log, answered
 * with the version they produced and read back once the read model has it.
 */
@Injectable()
export class NotebookCommands {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly versions: NotebookVersions,
  ) {}

  async send(context: GatewayContext, command: Record<string, unknown>, options: CommandOptions = {}): Promise<NotebookChange> {
    const viewer = requireViewer(context);
    // Validated apart, so a problem is reported by the argument's own name (`title: …`).
    const request: NotebookCommandRequest = {
      command: parseInput(NotebookCommandInput, command),
      actorId: viewer.userId,
      ...parseInput(RequestOptions, { expectedVersion: options.expectedVersion ?? undefined, idempotencyKey: options.idempotencyKey ?? undefined }),
    };
    const reply = NotebookCommandReply.parse(await this.rpc.request(NotebookSubjects.command, request));
    return { notebookId: reply.notebookId, version: reply.version, cellId: reply.cellId };
  }

  /** Whether the read model shows the change within the read-your-writes bound. */
  settled(change: NotebookChange): Promise<boolean> {
    return this.versions.reached(change.notebookId, change.version);
  }

  /** The notebook as of the change (read-your-writes); UNAVAILABLE with `applied: true` when the read model lags beyond the bound. */
  async notebookAt(change: NotebookChange, context: GatewayContext): Promise<Notebook> {
    if (!(await this.settled(change))) {
      // The change is in the log: resending it would make it twice. Only reading it back must wait.
      throw gatewayError('UNAVAILABLE', 'the change was made, but the notebook cannot be read back yet: read it again shortly, do not resend the change', {
        applied: true,
        notebookId: change.notebookId,
        version: change.version,
      });
    }
    const notebook = await context.loaders.notebook.clear(change.notebookId).load(change.notebookId);
    if (!notebook) throw gatewayError('NOT_FOUND', 'notebook not found');
    return notebook;
  }
}
