import {
  IdentifierNode,
  OperationNodeTransformer,
  RawNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type SchemableIdentifierNode,
  type UnknownRow,
} from 'kysely';

/** A query names a table of the rewritten schema that is not among those it may be sent elsewhere. */
export class UndeclaredTableError extends Error {
  constructor(
    readonly schema: string,
    readonly table: string,
  ) {
    super(`the projection uses ${schema}.${table}, which is not among the tables it declares`);
    this.name = 'UndeclaredTableError';
  }
}

export interface SchemaRewrite {
  from: string;
  to: string;
  /** When given, only these tables of `from` may be named: any other throws {@link UndeclaredTableError}. */
  tables?: readonly string[];
}

class SchemaRewriter extends OperationNodeTransformer {
  constructor(private readonly rewrite: SchemaRewrite) {
    super();
  }

  protected override transformSchemableIdentifier(node: SchemableIdentifierNode): SchemableIdentifierNode {
    const transformed = super.transformSchemableIdentifier(node);
    if (transformed.schema?.name !== this.rewrite.from) return transformed;
    const { name } = transformed.identifier;
    if (this.rewrite.tables && !this.rewrite.tables.includes(name)) throw new UndeclaredTableError(this.rewrite.from, name);
    return { ...transformed, schema: IdentifierNode.create(this.rewrite.to) };
  }
}

/**
 * Sends a projection's queries to other tables of the same shape: every schema-qualified table
 * (`'read.notebooks'`, `read.notebooks.id`, in selects, inserts, updates, deletes, joins, upserts
 * and `sql.table`) of schema `from` is rewritten to schema `to`. Unqualified names and identifiers
 * spelled out in raw SQL (`sql.id`, `sql.raw`) are left alone.
 */
export class RewriteSchemaPlugin implements KyselyPlugin {
  private readonly rewriter: SchemaRewriter;

  constructor(rewrite: SchemaRewrite) {
    this.rewriter = new SchemaRewriter(rewrite);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.rewriter.transformNode(args.node, args.queryId);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

const NOTIFY_CALL = /^\s*select\s+pg_notify\s*\(/i;

/**
 * Drops the `select pg_notify(…)` statements a projection sends to announce what it applied: while
 * a replay fills tables nobody reads yet, such an announcement would be untrue.
 */
export class WithholdNotificationsPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { node } = args;
    if (node.kind === 'RawNode' && NOTIFY_CALL.test(node.sqlFragments.join('$'))) return RawNode.createWithSql('select null');
    return node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
