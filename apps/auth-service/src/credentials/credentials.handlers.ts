import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { AuthSubjects, LoginRequest, RefreshRequest, RegisterRequest, UserRequest } from '@notebooks/contracts';
import { NatsRpc } from '@notebooks/platform';
import { z } from 'zod';
import { CredentialsService } from './credentials.service';
import { SigningKeys } from './signing-keys';

/** auth-service's NATS API: validates each request and hands it to the service. */
@Injectable()
export class CredentialsHandlers implements OnApplicationBootstrap {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly credentials: CredentialsService,
    private readonly keys: SigningKeys,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(AuthSubjects.register, RegisterRequest, (r) => this.credentials.register(r));
    this.rpc.serve(AuthSubjects.login, LoginRequest, (r) => this.credentials.login(r));
    this.rpc.serve(AuthSubjects.refresh, RefreshRequest, (r) => this.credentials.refresh(r));
    this.rpc.serve(AuthSubjects.logout, RefreshRequest, (r) => this.credentials.logout(r));
    this.rpc.serve(AuthSubjects.user, UserRequest, (r) => this.credentials.user(r));
    this.rpc.serve(AuthSubjects.jwks, z.object({}), async () => this.keys.jwks);
  }
}
