import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { round } from '../measure';
import { startPlatform, type BenchNotebook, type Platform } from '../platform';
import type { BenchContext, ScenarioResult } from '../scenario';

const SUBSCRIPTION = 'subscription($id: ID!) { notebookEvents(notebookId: $id) { version occurredAt } }';
/** Sockets opened at once while connecting subscribers. */
const CONNECT_BATCH = 100;
const SAMPLE_MS = 200;
const SETTLE_MS = 3_000;
/** How long the last edit may take to reach every subscriber before the rest count as missing. */
const DRAIN_MS = 30_000;

/** One graphql-ws subscriber speaking the protocol directly, so the bench client stays light. */
class Subscriber {
  lastVersion = 0;
  received = 0;
  outOfOrder = 0;
  closed: { code: number; reason: string } | undefined;
  private constructor(private readonly socket: WebSocket) {}

  static async open(gateway: string, authorization: string, notebookId: string, onEvent: (latencyMs: number) => void): Promise<Subscriber> {
    const socket = new WebSocket(`${gateway.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { perMessageDeflate: false });
    const subscriber = new Subscriber(socket);
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject); // after the handshake, 'close' follows and says why
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
      socket.on('message', (raw) => {
        const message = JSON.parse(raw.toString()) as { type: string; payload?: { data?: { notebookEvents: { version: number; occurredAt: string } } } };
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { id: notebookId } } }));
          resolve();
          return;
        }
        const event = message.payload?.data?.notebookEvents;
        if (message.type !== 'next' || !event) return;
        onEvent(Date.now() - Date.parse(event.occurredAt));
        subscriber.received++;
        if (event.version !== subscriber.lastVersion + 1 && subscriber.lastVersion !== 0) subscriber.outOfOrder++;
        subscriber.lastVersion = event.version;
      });
      socket.once('close', (code, reason) => {
        subscriber.closed = { code, reason: reason.toString() };
        reject(new Error(`closed ${code} ${reason.toString()}`));
      });
    });
    return subscriber;
  }

  close(): void {
    this.socket.close();
  }
}

interface Phase {
  subscribers: number;
  connectSeconds: number;
  editsPerSecond: number;
  edits: number;
  deliveries: number;
  expected: number;
  latency: { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
  editLatency: { p50Ms: number; p99Ms: number };
  outOfOrder: number;
  closedEarly: number;
  rssMiB: { before: number; subscribed: number; peak: number; after: number };
  heapUsedMiB: { before: number; subscribed: number; after: number };
  /** Cores busy while edits ran: the gateway, and this process (the subscribers' side). */
  cpuCores: { gateway: number; subscribers: number };
  /** What the gateway's metrics show once every subscriber left: subscriptions and sockets still open. */
  openAfter: { subscriptions: number; connections: number };
}

/**
 * `notebookEvents` subscribers over graphql-ws to one gateway on loopback, all on one notebook,
 * while it is edited at a steady rate: delivery latency (from the edit's `occurredAt` to a
 * subscriber's receipt) and the gateway's resident memory before, during and after. Measured with
 * one subscriber first (the reference), then with `--subscribers`.
 */
export async function realtime(context: BenchContext): Promise<ScenarioResult> {
  const platform = await startPlatform(context);
  try {
    const [notebook] = await platform.createNotebooks(1);
    if (!notebook) throw new Error('no notebook');
    // Subscribers read as someone other than the editor, as most readers of a notebook are.
    const reader = await register(platform.gateway);
    await platform.graphql('mutation($id: ID!, $email: String!) { shareNotebook(id: $id, email: $email, role: VIEWER) { version } }', { id: notebook.notebookId, email: reader.email });
    const seconds = Math.max(5, context.limits.seconds);
    const reference = await phase(platform, notebook, reader.authorization, 1, context.editsPerSecond, seconds);
    const loaded = await phase(platform, notebook, reader.authorization, context.subscribers, context.editsPerSecond, seconds);
    const slowConsumers = /realtime_slow_consumer_disconnects_total\{transport="graphql-ws"\} (\d+)/.exec(await (await fetch(`${platform.gateway}/metrics`)).text())?.[1] ?? '0';
    const row = (figure: string, pick: (p: Phase) => number | string) => ({ figure, [`${reference.subscribers} subscriber`]: pick(reference), [`${loaded.subscribers} subscribers`]: pick(loaded) });
    return {
      title: `realtime: notebookEvents over graphql-ws on one notebook, ${context.editsPerSecond} edits/s for ${seconds} s; delivery latency from the edit's occurredAt, gateway RSS (slow-consumer disconnects: ${slowConsumers})`,
      rows: [
        row('connect + subscribe s', (p) => p.connectSeconds),
        row('edits/s (achieved)', (p) => p.editsPerSecond),
        row('deliveries / expected', (p) => `${p.deliveries} / ${p.expected}`),
        row('delivery latency p50 ms', (p) => p.latency.p50Ms),
        row('delivery latency p95 ms', (p) => p.latency.p95Ms),
        row('delivery latency p99 ms', (p) => p.latency.p99Ms),
        row('delivery latency max ms', (p) => p.latency.maxMs),
        row('edit (updateCell) p50 / p99 ms', (p) => `${p.editLatency.p50Ms} / ${p.editLatency.p99Ms}`),
        row('out of order or gaps', (p) => p.outOfOrder),
        row('closed by the gateway', (p) => p.closedEarly),
        row('gateway RSS before MiB', (p) => p.rssMiB.before),
        row('gateway RSS subscribed MiB', (p) => p.rssMiB.subscribed),
        row('gateway RSS peak under edits MiB', (p) => p.rssMiB.peak),
        row('gateway RSS after unsubscribing MiB', (p) => p.rssMiB.after),
        row('cores busy while editing: gateway / subscribers', (p) => `${p.cpuCores.gateway} / ${p.cpuCores.subscribers}`),
        row('subscriptions / sockets left open after', (p) => `${p.openAfter.subscriptions} / ${p.openAfter.connections}`),
        row('gateway heap used before / subscribed / after MiB', (p) => `${p.heapUsedMiB.before} / ${p.heapUsedMiB.subscribed} / ${p.heapUsedMiB.after}`),
      ],
      figures: { reference, loaded, slowConsumerDisconnects: Number(slowConsumers) },
    };
  } finally {
    await platform.stop();
  }
}

async function phase(platform: Platform, notebook: BenchNotebook, authorization: string, count: number, editsPerSecond: number, seconds: number): Promise<Phase> {
  const gatewayRss = () => platform.residentMiB().gateway ?? 0;
  const metric = async (pattern: RegExp) => {
    const text = await (await fetch(`${platform.gateway}/metrics`)).text();
    return [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
  };
  const heapUsed = async () => Math.round((await metric(/^nodejs_heap_size_used_bytes (\S+)$/gm)) / 2 ** 20);
  const gatewayPid = childPid('apps/gateway/src/main.ts');
  const before = gatewayRss();
  const heapBefore = await heapUsed();
  const latencies: number[] = [];
  let measuring = false;
  const onEvent = (latencyMs: number) => {
    if (measuring) latencies.push(latencyMs);
  };

  const connectStart = performance.now();
  const subscribers: Subscriber[] = [];
  for (let i = 0; i < count; i += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - i) }, () => Subscriber.open(platform.gateway, authorization, notebook.notebookId, onEvent));
    subscribers.push(...(await Promise.all(batch)));
  }
  // Every subscription is live once a first edit reaches them all.
  const warmUp = await platform.updateCell(notebook.notebookId, notebook.cellId, `x = 'warm-up for ${count}'`);
  await until(() => subscribers.every((s) => s.lastVersion >= warmUp.version), DRAIN_MS);
  const connectSeconds = round((performance.now() - connectStart) / 1000);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const subscribed = gatewayRss();
  const heapSubscribed = await heapUsed();

  let peak = subscribed;
  const sampler = setInterval(() => (peak = Math.max(peak, gatewayRss())), SAMPLE_MS);
  measuring = true;
  const editMs: number[] = [];
  const edits: Promise<number>[] = [];
  const started = performance.now();
  const gatewayCpuBefore = cpuSeconds(gatewayPid);
  const ownCpuBefore = process.cpuUsage();
  for (let i = 0; i < seconds * editsPerSecond; i++) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i * 1000) / editsPerSecond - performance.now())));
    const t0 = performance.now();
    edits.push(platform.updateCell(notebook.notebookId, notebook.cellId, `x = ${i}`).then(({ version }) => (editMs.push(performance.now() - t0), version)));
  }
  const last = Math.max(...(await Promise.all(edits)));
  const elapsed = (performance.now() - started) / 1000;
  const ownCpu = process.cpuUsage(ownCpuBefore);
  const cpuCores = { gateway: round((cpuSeconds(gatewayPid) - gatewayCpuBefore) / elapsed), subscribers: round((ownCpu.user + ownCpu.system) / 1e6 / elapsed) };
  await until(() => subscribers.every((s) => s.closed || s.lastVersion >= last), DRAIN_MS).catch(() => undefined);
  clearInterval(sampler);
  measuring = false;

  const outOfOrder = subscribers.reduce((sum, s) => sum + s.outOfOrder, 0);
  const closedEarly = subscribers.filter((s) => s.closed).length;
  for (const subscriber of subscribers) subscriber.close();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const sorted = latencies.sort((a, b) => a - b);
  const edit = editMs.sort((a, b) => a - b);
  return {
    subscribers: count,
    connectSeconds,
    editsPerSecond: Math.round(edits.length / elapsed),
    edits: edits.length,
    deliveries: latencies.length,
    expected: edits.length * count,
    latency: { p50Ms: quantile(sorted, 0.5), p95Ms: quantile(sorted, 0.95), p99Ms: quantile(sorted, 0.99), maxMs: round(sorted.at(-1) ?? 0) },
    editLatency: { p50Ms: quantile(edit, 0.5), p99Ms: quantile(edit, 0.99) },
    outOfOrder,
    closedEarly,
    rssMiB: { before, subscribed, peak, after: gatewayRss() },
    heapUsedMiB: { before: heapBefore, subscribed: heapSubscribed, after: await heapUsed() },
    cpuCores,
    openAfter: { subscriptions: await metric(/^realtime_subscriptions\{[^}]*\} (\S+)$/gm), connections: await metric(/^realtime_websocket_connections (\S+)$/gm) },
  };
}

/** A second user, who reads what the platform's user edits. */
async function register(gateway: string): Promise<{ email: string; authorization: string }> {
  const email = `reader.${randomUUID().slice(0, 8)}@example.com`;
  const response = await fetch(`${gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }',
      variables: { input: { email, password: 'correct horse battery', displayName: 'Reader' } },
    }),
  });
  const body = (await response.json()) as { data?: { register: { accessToken: string } }; errors?: unknown };
  if (!body.data) throw new Error(`register failed: ${JSON.stringify(body.errors)}`);
  return { email, authorization: `Bearer ${body.data.register.accessToken}` };
}

/** The pid of this process's child running `script` (startServices spawns each service as a direct child). */
function childPid(script: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parentPid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(script)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/** User + system CPU seconds a process used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime and stime, in clock ticks (100 a second)
}

function quantile(sorted: number[], q: number): number {
  return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
