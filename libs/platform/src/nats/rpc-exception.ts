import type { ErrorCode, RpcError } from '@notebooks/contracts';

/**
 * A failure with a platform error code. Thrown by request handlers to answer with an error, and by
 * {@link NatsRpc.request} when the answer is an error, so the code survives every hop.
 */
export class RpcException extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RpcException';
  }

  toJSON(): RpcError {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}
