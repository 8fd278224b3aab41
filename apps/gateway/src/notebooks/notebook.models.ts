import { Field, Float, GraphQLISODateTime, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { CellKind, ExecutionStatus, Visibility } from '@notebooks/contracts';
import { GraphQLJSON } from 'graphql-scalars';

export const Role = { OWNER: 'OWNER', EDITOR: 'EDITOR', VIEWER: 'VIEWER' } as const;
export type Role = keyof typeof Role;

export const NotebookScope = { MINE: 'MINE', SHARED_WITH_ME: 'SHARED_WITH_ME', PUBLIC: 'PUBLIC' } as const;
export type NotebookScope = keyof typeof NotebookScope;

registerEnumType(CellKind.enum, { name: 'CellKind' });
registerEnumType(Visibility.enum, { name: 'Visibility' });
registerEnumType(Role, { name: 'Role' });
registerEnumType(ExecutionStatus.enum, { name: 'ExecutionStatus' });
registerEnumType(NotebookScope, {
  name: 'NotebookScope',
  valuesMap: {
    MINE: { description: 'Notebooks the caller owns.' },
    SHARED_WITH_ME: { description: 'Notebooks shared with the caller by someone else.' },
    PUBLIC: { description: 'Public notebooks of anyone.' },
  },
});

/** One cell's latest execution result (the contract's `CellOutput`). */
@ObjectType('CellOutput')
export class CellOutputModel {
  @Field(() => ExecutionStatus.enum)
  status!: ExecutionStatus;

  @Field(() => String, { nullable: true, description: 'Inspector-style text form of the value, bounded in size.' })
  display!: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: 'The value as JSON, when it has a JSON form and is small enough.' })
  value!: unknown;

  @Field(() => String, { nullable: true, description: 'Rendered, sanitized HTML for MARKDOWN and HTML cells.' })
  html!: string | null;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => Float)
  durationMs!: number;

  @Field(() => Int, { description: 'The notebook version this output was computed from.' })
  notebookVersion!: number;

  @Field(() => GraphQLISODateTime)
  executedAt!: Date;
}

@ObjectType()
export class Cell {
  @Field(() => ID)
  id!: string;

  /** The notebook the cell belongs to: its `output` is looked up by both ids (batched). */
  notebookId!: string;

  /**
   * Resolved to `output`: when set (a run's fresh result, or null where outputs do not apply) it is
   * answered as is; when undefined, the latest output is read from the read model.
   */
  output?: CellOutputModel | null;

  @Field(() => CellKind.enum)
  kind!: CellKind;

  @Field({ description: "The cell's source." })
  value!: string;

  @Field(() => Int, { description: '0-based position in the notebook.' })
  position!: number;

  @Field({ description: 'Whether the source is collapsed in the editor.' })
  isClosed!: boolean;

  @Field(() => String, { nullable: true, description: 'The name the cell defines, if any (e.g. `x` for `x = 1`).' })
  name!: string | null;

  @Field(() => [String], { description: 'Names the cell references.' })
  references!: string[];

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime)
  updatedAt!: Date;
}

@ObjectType()
export class Collaborator {
  /** Resolved to `user` on demand (batched). */
  userId!: string;

  /** Whether the caller is a member of the notebook (then they see collaborators' emails). */
  member?: boolean;

  @Field(() => Role)
  role!: Role;
}

@ObjectType()
export class Notebook {
  @Field(() => ID)
  id!: string;

  @Field()
  title!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Visibility.enum)
  visibility!: Visibility;

  /** Resolved to `owner` on demand (batched). */
  ownerId!: string;

  /** Resolved to `forkedFrom` on demand, and only if the caller may see it. */
  forkedFromId!: string | null;

  @Field(() => Role, { nullable: true, description: "The caller's role, null for a public notebook the caller has no role in." })
  myRole!: Role | null;

  @Field(() => Int, { description: "Number of events in the notebook's history." })
  version!: number;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime)
  updatedAt!: Date;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class NotebookEdge {
  @Field()
  cursor!: string;

  @Field(() => Notebook)
  node!: Notebook;
}

@ObjectType()
export class NotebookConnection {
  @Field(() => [NotebookEdge])
  edges!: NotebookEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: 'What a notebook or cell mutation produced.' })
export class NotebookChange {
  @Field(() => ID)
  notebookId!: string;

  @Field(() => Int, { description: 'The notebook version after the change.' })
  version!: number;

  @Field(() => ID, { nullable: true, description: 'The cell the change created or touched, if any.' })
  cellId!: string | null;
}

@InputType()
export class CreateNotebookInput {
  @Field()
  title!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => Visibility.enum, { nullable: true, defaultValue: 'PRIVATE' })
  visibility?: Visibility | null;
}

@InputType()
export class UpdateNotebookInput {
  @Field(() => String, { nullable: true })
  title?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => Visibility.enum, { nullable: true })
  visibility?: Visibility | null;
}

@InputType()
export class AddCellInput {
  @Field(() => CellKind.enum, { nullable: true, defaultValue: 'JS' })
  kind?: CellKind | null;

  @Field(() => String, { nullable: true, defaultValue: '' })
  value?: string | null;

  @Field(() => Int, { nullable: true, description: '0-based; defaults to the end.' })
  position?: number | null;
}

@InputType()
export class UpdateCellInput {
  @Field(() => String, { nullable: true })
  value?: string | null;

  @Field(() => CellKind.enum, { nullable: true })
  kind?: CellKind | null;

  @Field(() => Boolean, { nullable: true })
  isClosed?: boolean | null;
}

@ObjectType()
export class NotebookEvent {
  @Field(() => ID)
  notebookId!: string;

  @Field(() => Int, { description: 'Notebook version after this event.' })
  version!: number;

  @Field({ description: 'e.g. cell.updated' })
  type!: string;

  @Field(() => GraphQLISODateTime)
  occurredAt!: Date;

  /** Resolved to `actor` on demand (batched). */
  actorId!: string | null;

  /** Whether the caller is a member of the notebook (then they see actors' emails). */
  member!: boolean;

  @Field(() => GraphQLJSON)
  data!: unknown;
}

@ObjectType()
export class NotebookSnapshot {
  @Field(() => Int)
  version!: number;

  @Field()
  title!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => [Cell])
  cells!: Cell[];

  @Field(() => GraphQLISODateTime, { description: 'When this version was reached.' })
  at!: Date;
}

@ObjectType({ description: "Someone's edits in a notebook." })
export class NotebookContributor {
  /** Resolved to `user` on demand (batched). */
  userId!: string;

  @Field(() => Int, { description: 'Changes this user made (one per mutation).' })
  edits!: number;

  @Field(() => GraphQLISODateTime)
  lastActivityAt!: Date;
}

@ObjectType({ description: "A notebook's activity; only its owner sees it." })
export class NotebookActivity {
  @Field(() => Int, { description: 'Changes made to the notebook (one per mutation), by anyone.' })
  edits!: number;

  @Field(() => Int, { description: 'Times the notebook was forked.' })
  forks!: number;

  @Field(() => Int, { description: 'Cells executed in the notebook: one per cell run recorded (each cell of a whole-notebook run counts), failures and timeouts included.' })
  executions!: number;

  @Field(() => GraphQLISODateTime)
  lastActivityAt!: Date;

  @Field(() => [NotebookContributor], { description: 'Who edited it, most edits first.' })
  contributors!: NotebookContributor[];
}

@ObjectType({ description: "The caller's own activity across notebooks." })
export class UserActivity {
  @Field(() => Int, { description: 'Changes made to notebooks (one per mutation).' })
  edits!: number;

  @Field(() => Int, { description: 'Notebooks created, forks included.' })
  notebooksCreated!: number;

  @Field(() => Int, { description: 'Notebooks forked from others.' })
  forks!: number;

  @Field(() => GraphQLISODateTime, { nullable: true })
  lastActivityAt!: Date | null;
}
