import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { NotebookCommandRequest, NotebookSubjects } from '@notebooks/contracts';
import { CommitTooLargeError, ConcurrencyError, QueueWaitExceeded } from '@notebooks/event-store';
import { NotebookAccessDenied, NotebookRejected, type NotebookRejectionReason } from '@notebooks/notebook-domain';
import { NatsRpc, RpcException } from '@notebooks/platform';
import { NotebooksService } from './notebooks.service';

const NOT_FOUND: ReadonlySet<NotebookRejectionReason> = new Set(['notebook-not-found', 'notebook-deleted', 'cell-not-found']);

/** notebook-service's NATS API, and where its refusals become platform error codes. */
@Injectable()
export class NotebooksHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly notebooks: NotebooksService,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(NotebookSubjects.command, NotebookCommandRequest, (request) =>
      this.notebooks.execute(request).catch((error: unknown) => {
        throw toRpcException(error);
      }),
    );
  }
}

export function toRpcException(error: unknown): unknown {
  if (error instanceof NotebookAccessDenied) {
    return error.permission === 'hidden'
      ? new RpcException('NOT_FOUND', 'notebook not found')
      : new RpcException('FORBIDDEN', error.message);
  }
  if (error instanceof NotebookRejected) {
    if (NOT_FOUND.has(error.reason)) return new RpcException('NOT_FOUND', error.reason === 'cell-not-found' ? 'cell not found' : 'notebook not found');
    if (error.reason === 'cell-too-large') return new RpcException('PAYLOAD_TOO_LARGE', error.message, { reason: error.reason });
    return new RpcException('BAD_USER_INPUT', error.message, { reason: error.reason });
  }
  if (error instanceof ConcurrencyError) {
    return new RpcException('CONFLICT', `the notebook is at version ${error.actual.version}`, { currentVersion: error.actual.version });
  }
  if (error instanceof CommitTooLargeError) return new RpcException('PAYLOAD_TOO_LARGE', 'the change is larger than a notebook commit may be');
  if (error instanceof QueueWaitExceeded) return new RpcException('UNAVAILABLE', 'the notebook is busy; retry shortly');
  return error;
}
