import variant from '@jitl/quickjs-wasmfile-release-sync';
import type { CellProgram } from '@notebooks/notebook-domain';
import {
  newQuickJSWASMModuleFromVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { GUEST_HARNESS } from './guest-harness';
import { renderCellHtml } from './render';
import { observableRuntimeSource } from './runtime-source';

/** Bounds of one run. The deadline is also enforced from outside, by the pool killing the worker. */
export interface SandboxLimits {
  /** Wall-clock time the whole run may take. */
  deadlineMs: number;
  /** How long generators keep being pulled once everything else has settled (their latest value counts). */
  generatorBudgetMs: number;
  /** The guest engine's heap. */
  memoryBytes: number;
  /** The guest engine's stack: deep recursion fails with a stack overflow well before the host's. */
  stackBytes: number;
  /** Characters of a cell's display text. */
  displayMax: number;
  /** Characters of a cell's JSON value; larger values have none. */
  valueMax: number;
  /** Characters of a cell's HTML (and of the markdown/HTML source it is rendered from). */
  htmlMax: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  deadlineMs: 5_000,
  generatorBudgetMs: 1_000,
  memoryBytes: 64 * 1024 * 1024,
  stackBytes: 256 * 1024,
  displayMax: 2_000,
  valueMax: 16 * 1024,
  htmlMax: 64 * 1024,
};

export interface SandboxCell {
  id: string;
  program: CellProgram;
}

/** A notebook's cells to define (all of them, so names resolve as in the notebook) and which to report. */
export interface SandboxRequest {
  cells: SandboxCell[];
  /** Ids of the cells whose results are wanted: these and what they depend on are computed. */
  observe: string[];
  limits: SandboxLimits;
}

export type SandboxStatus = 'OK' | 'ERROR' | 'TIMEOUT';

export interface CellResult {
  cellId: string;
  status: SandboxStatus;
  display: string | null;
  value: z.core.util.JSONType;
  html: string | null;
  error: string | null;
  durationMs: number;
}

/** What the guest harness records per observed cell (see guest-harness.ts). */
const CellRecord = z.object({
  status: z.enum(['PENDING', 'OK', 'ERROR']),
  display: z.string().nullable(),
  json: z.string().nullable(),
  markup: z.string().nullable(),
  markupKind: z.enum(['md', 'html']).nullable(),
  error: z.string().nullable(),
  durationMs: z.number(),
});
const CellRecords = z.record(z.string(), CellRecord);
type CellRecords = z.infer<typeof CellRecords>;

/** How long the host may spend collecting records once the run is over (only harness code runs then). */
const COLLECT_MS = 250;
/** The guest engine runs synchronously; the worker's own messages get a turn this often. */
const YIELD_EVERY_MS = 20;
/** Promise jobs run between checks of the run's state, so a flood of them cannot hide that it has settled. */
const JOBS_PER_TURN = 1_000;
/**
 * A value nested deeper than this has no JSON form here: whoever decodes it later (validation,
 * projections, clients) may recurse, and no notebook value worth showing nests that deep.
 */
const MAX_JSON_DEPTH = 64;

let engine: Promise<QuickJSWASMModule> | undefined;

/** The QuickJS WebAssembly module, loaded once per process (each run gets its own runtime in it). */
export function quickJs(): Promise<QuickJSWASMModule> {
  engine ??= newQuickJSWASMModuleFromVariant(variant);
  return engine;
}

/**
 * Runs a notebook's cells with the Observable runtime inside a fresh QuickJS runtime (nothing is
 * shared between runs) and reports the observed cells. Guest code gets no host functions at all:
 * frames and timers are simulated by the harness and advanced from here, and only strings come out.
 * A run ends when every observed cell has settled and no generator is live (or the generators'
 * budget is spent), when nothing can make progress any more, or at the deadline.
 */
export async function runInSandbox(request: SandboxRequest): Promise<SandboxOutcome> {
  const { limits } = request;
  const module = await quickJs();
  const startedAt = Date.now();
  const deadline = startedAt + limits.deadlineMs;
  let cutoff = deadline;
  const runtime = module.newRuntime();
  runtime.setMemoryLimit(limits.memoryBytes);
  runtime.setMaxStackSize(limits.stackBytes);
  runtime.setInterruptHandler(() => Date.now() > cutoff);
  const context = runtime.newContext();
  const handles: QuickJSHandle[] = [];
  const outcome = await runWith(context, handles, request, {
    pump: (harness) => pump(runtime, harness, deadline, limits.generatorBudgetMs),
    collecting: () => (cutoff = Date.now() + COLLECT_MS),
  });
  // An interrupted run can leave the engine's heap inconsistent, and freeing it then aborts the
  // whole WebAssembly instance: such a runtime is abandoned with its worker (not reusable). Freeing
  // can abort after other failures too (e.g. out of memory); the results stand, the worker retires.
  if (outcome.reusable) {
    try {
      for (const handle of handles) if (handle.alive) handle.dispose();
      context.dispose();
      runtime.dispose();
    } catch {
      return { ...outcome, reusable: false };
    }
  }
  return outcome;
}

async function runWith(
  context: QuickJSContext,
  handles: QuickJSHandle[],
  request: SandboxRequest,
  steps: { pump(harness: Harness): Promise<RunEnd>; collecting(): void },
): Promise<SandboxOutcome> {
  let harness: Harness;
  try {
    harness = loadHarness(context, handles);
    harness.call('start', JSON.stringify({ cells: request.cells.map((cell) => guestCell(cell, request.observe)), limits: guestLimits(request.limits) }));
  } catch (error) {
    return { results: failAll(request.observe, 'ERROR', `the sandbox could not start: ${messageOf(error)}`), reusable: false };
  }
  const end = await steps.pump(harness);
  steps.collecting();
  let records: CellRecords;
  try {
    records = CellRecords.parse(JSON.parse(harness.call('drain')));
  } catch (error) {
    return { results: failAll(request.observe, 'ERROR', `the sandbox's results could not be read: ${messageOf(error)}`), reusable: false };
  }
  return { results: request.observe.map((cellId) => toResult(cellId, records[cellId], end, request.limits)), reusable: end === 'settled' || end === 'stalled' };
}

/** The observed cells' results, and whether the process may run another notebook. */
export interface SandboxOutcome {
  results: CellResult[];
  /** False after a run was cut off: its worker must be replaced. */
  reusable: boolean;
}

type RunEnd = 'settled' | 'deadline' | 'stalled' | { failure: string };

async function pump(runtime: QuickJSRuntime, harness: Harness, deadline: number, generatorBudgetMs: number): Promise<RunEnd> {
  let yieldedAt = Date.now();
  /** When only generators were left running: their budget counts from then. */
  let generatorsAloneSince: number | null = null;
  for (;;) {
    const jobs = runtime.executePendingJobs(JOBS_PER_TURN);
    if (jobs.error) {
      const message = harness.dump(jobs.error);
      if (Date.now() > deadline) return 'deadline';
      // A job that failed outside any promise (e.g. out of memory while resolving one): the
      // affected cells stay pending and time out; the others go on.
      void message;
    }
    if (Date.now() > deadline) return 'deadline';
    let state: TickState;
    try {
      state = parseTick(harness.call('tick'));
    } catch (error) {
      return Date.now() > deadline ? 'deadline' : { failure: messageOf(error) };
    }
    if (state.pending === 0) {
      if (state.generators === 0) return 'settled';
      generatorsAloneSince ??= Date.now();
      if (Date.now() - generatorsAloneSince >= generatorBudgetMs) return 'settled';
    } else {
      generatorsAloneSince = null;
    }
    if (runtime.hasPendingJob() || state.frames) {
      if (Date.now() - yieldedAt >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        yieldedAt = Date.now();
      }
      continue;
    }
    if (state.nextTimer < 0) return 'stalled';
    await sleep(Math.max(0, Math.min(state.nextTimer, deadline + 1) - Date.now()));
    yieldedAt = Date.now();
  }
}

interface TickState {
  pending: number;
  generators: number;
  frames: boolean;
  nextTimer: number;
}

function parseTick(text: string): TickState {
  const [pending, generators, frames, nextTimer] = text.split(',').map(Number);
  if ([pending, generators, frames, nextTimer].some((n) => n === undefined || !Number.isFinite(n))) {
    throw new Error(`unexpected harness state ${JSON.stringify(text.slice(0, 100))}`);
  }
  return { pending: pending as number, generators: generators as number, frames: frames === 1, nextTimer: nextTimer as number };
}

function toResult(cellId: string, record: z.infer<typeof CellRecord> | undefined, end: RunEnd, limits: SandboxLimits): CellResult {
  const base = { cellId, display: null, value: null, html: null, durationMs: record?.durationMs ?? 0 };
  if (!record || record.status === 'PENDING') {
    return { ...base, status: end === 'settled' ? 'TIMEOUT' : typeof end === 'object' ? 'ERROR' : 'TIMEOUT', error: pendingReason(end, limits) };
  }
  if (record.status === 'ERROR') {
    // The engine's interrupt at the deadline surfaces as an error inside the cell that was running.
    if (end === 'deadline' && record.error === 'InternalError: interrupted') return { ...base, status: 'TIMEOUT', error: pendingReason(end, limits) };
    return { ...base, status: 'ERROR', error: bounded(record.error ?? 'Error', limits.displayMax) };
  }
  return {
    ...base,
    status: 'OK',
    error: null,
    display: record.display === null ? null : bounded(record.display, limits.displayMax),
    value: record.json === null || record.json.length > limits.valueMax || nestedDeeper(record.json, MAX_JSON_DEPTH) ? null : (JSON.parse(record.json) as z.core.util.JSONType),
    html: record.markup === null || record.markupKind === null ? null : boundHtml(renderCellHtml(record.markupKind, record.markup), limits),
  };
}

/** Whether JSON text nests arrays and objects deeper than `max` (checked without recursion). */
export function nestedDeeper(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '[' || char === '{') {
      if (++depth > max) return true;
    } else if (char === ']' || char === '}') depth--;
  }
  return false;
}

function bounded(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function pendingReason(end: RunEnd, limits: SandboxLimits): string {
  if (end === 'deadline') return `the run exceeded its ${limits.deadlineMs} ms deadline`;
  if (end === 'stalled') return 'the cell never settled: it waits on a promise nothing will resolve';
  if (end === 'settled') return `the cell was still waiting on a generator after ${limits.generatorBudgetMs} ms`;
  return `the sandbox failed: ${end.failure}`;
}

function boundHtml(html: string, limits: SandboxLimits): string {
  // Cutting rendered HTML can leave a tag open; sanitizing the cut text closes it again.
  return html.length <= limits.htmlMax ? html : renderCellHtml('html', html.slice(0, limits.htmlMax - 100));
}

/** Every observed cell with the same outcome: the run as a whole could not go on. */
export function failAll(cellIds: readonly string[], status: SandboxStatus, error: string): CellResult[] {
  return cellIds.map((cellId) => ({ cellId, status, display: null, value: null, html: null, error, durationMs: 0 }));
}

/** What the harness's `start` gets per cell: the program as a factory expression it evaluates. */
function guestCell({ id, program }: SandboxCell, observe: readonly string[]) {
  const observed = observe.includes(id);
  if (program.type === 'invalid') return { id, observed, name: program.name, inputs: [], generator: false, factory: null, error: program.error };
  return { id, observed, name: program.name, inputs: program.inputs, generator: program.type === 'function' && program.generator, factory: factoryOf(program), error: null };
}

/** `(function (template) { return <definition>; })`: a template cell's tag arrives as the argument. */
export function factoryOf(program: Exclude<CellProgram, { type: 'invalid' }>): string {
  const params = program.inputs.join(', ');
  if (program.type === 'template') {
    const values = program.expressions.map((expression) => `(${expression}\n)`).join(', ');
    return `(function (__cell_template__) { return ${program.async ? 'async ' : ''}function (${params}) { return __cell_template__(${JSON.stringify(program.tag)}, ${JSON.stringify(program.strings)}, [${values}]); }; })`;
  }
  return `(function () { return ${program.async ? 'async ' : ''}function${program.generator ? '*' : ''} (${params}) ${program.body}; })`;
}

function guestLimits(limits: SandboxLimits) {
  return { displayMax: limits.displayMax, valueMax: limits.valueMax, htmlSourceMax: limits.htmlMax };
}

interface Harness {
  /** Calls one of the harness's functions with string arguments; its answer must be a string. */
  call(name: 'start' | 'tick' | 'drain', ...args: string[]): string;
  dump(handle: QuickJSHandle): string;
}

function loadHarness(context: QuickJSContext, handles: QuickJSHandle[]): Harness {
  const keep = (handle: QuickJSHandle) => (handles.push(handle), handle);
  keep(context.unwrapResult(context.evalCode(observableRuntimeSource(), 'observable-runtime.js')));
  keep(context.unwrapResult(context.evalCode(GUEST_HARNESS, 'harness.js')));
  const api = keep(context.getProp(context.global, '__harness'));
  keep(context.unwrapResult(context.evalCode('delete globalThis.__harness', 'harness-hide.js')));
  const functions = {
    start: keep(context.getProp(api, 'start')),
    tick: keep(context.getProp(api, 'tick')),
    drain: keep(context.getProp(api, 'drain')),
  };
  const dump = (handle: QuickJSHandle): string => {
    try {
      const error: unknown = context.dump(handle);
      if (typeof error === 'object' && error !== null && 'message' in error) {
        const { name, message } = error as { name?: unknown; message?: unknown };
        return `${typeof name === 'string' ? name : 'Error'}: ${String(message)}`.slice(0, 500);
      }
      return String(error).slice(0, 500);
    } finally {
      handle.dispose();
    }
  };
  return {
    call(name, ...args) {
      const argHandles = args.map((arg) => context.newString(arg));
      try {
        const result = context.callFunction(functions[name], context.undefined, ...argHandles);
        if (result.error) throw new Error(dump(result.error));
        const answer = result.value;
        try {
          if (context.typeof(answer) === 'undefined') return '';
          if (context.typeof(answer) !== 'string') throw new Error(`the harness's ${name} answered a ${context.typeof(answer)}`);
          return context.getString(answer);
        } finally {
          answer.dispose();
        }
      } finally {
        for (const handle of argHandles) handle.dispose();
      }
    },
    dump,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
