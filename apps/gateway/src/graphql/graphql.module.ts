import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { DynamicModule, Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { FastifyRequest } from 'fastify';
import { AccessTokens } from '../auth/access-tokens';
import { AuthModule } from '../auth/auth.module';
import { NotebooksModule } from '../notebooks/notebooks.module';
import { ReadLoadersFactory } from '../notebooks/read-loaders';
import { SearchModule } from '../search/search.module';
import type { GatewayContext } from './context';
import { formatError } from './errors';

export interface GraphqlLimits {
  NODE_ENV: string;
  GRAPHQL_MAX_DEPTH: number;
  GRAPHQL_MAX_COST: number;
  GRAPHQL_MAX_ALIASES: number;
}

/**
 * Apollo Server on `/graphql`, code-first, hardened as DESIGN.md asks: depth, cost, alias, directive
 * and token limits; no batched operations; CSRF prevention; and in production no introspection and
 * no field suggestions. Every request is authenticated here, once, from its bearer token.
 */
@Module({})
export class GraphqlModule {
  static forRoot(limits: GraphqlLimits): DynamicModule {
    const production = limits.NODE_ENV === 'production';
    const armor = new ApolloArmor({
      maxDepth: { n: limits.GRAPHQL_MAX_DEPTH },
      costLimit: { maxCost: limits.GRAPHQL_MAX_COST },
      maxAliases: { n: limits.GRAPHQL_MAX_ALIASES },
      maxDirectives: { n: 20 },
      maxTokens: { n: 5_000 },
      blockFieldSuggestion: { enabled: production },
    }).protect();
    return {
      module: GraphqlModule,
      imports: [
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          imports: [AuthModule, NotebooksModule, SearchModule],
          inject: [AccessTokens, ReadLoadersFactory],
          useFactory: (tokens: AccessTokens, loaders: ReadLoadersFactory): ApolloDriverConfig => ({
            path: '/graphql',
            autoSchemaFile: true,
            sortSchema: true,
            playground: false,
            introspection: !production,
            hideSchemaDetailsFromClientErrors: production,
            includeStacktraceInErrorResponses: false,
            csrfPrevention: true,
            allowBatchedHttpRequests: false,
            plugins: [...armor.plugins, ApolloServerPluginLandingPageDisabled()],
            validationRules: armor.validationRules,
            formatError,
            context: async (request: FastifyRequest): Promise<GatewayContext> => {
              const authorization = request.headers.authorization;
              const viewer = authorization ? await tokens.verify(authorization) : null;
              return { viewer, clientAddress: request.ip, loaders: loaders.create(viewer?.userId ?? null) };
            },
          }),
        }),
      ],
    };
  }
}
