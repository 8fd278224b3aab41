import Table from 'cli-table3';

/** Where a command writes, and whether it may color (only a terminal, and not with NO_COLOR). */
export interface Output {
  color: boolean;
  json: boolean;
  line(text?: string): void;
  error(text: string): void;
}

const ANSI = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;
export type Tone = keyof typeof ANSI;

export function paint(output: Pick<Output, 'color'>, tone: Tone, text: string): string {
  return output.color ? `\u001b[${ANSI[tone]}m${text}\u001b[0m` : text;
}

/** A borderless table, aligned like `kubectl get`: easy to read and to grep. */
export function table(output: Pick<Output, 'color'>, head: string[], rows: (string | number)[][], align?: ('left' | 'right')[]): string {
  const rendered = new Table({
    head: head.map((h) => paint(output, 'bold', h)),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    ...(align && { colAligns: align }),
  });
  rendered.push(...rows.map((row) => row.map(String)));
  return rendered
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** "ok" in green or "down" in red. */
export function status(output: Pick<Output, 'color'>, healthy: boolean, up = 'ok', down = 'down'): string {
  return healthy ? paint(output, 'green', up) : paint(output, 'red', down);
}

/** "4s ago", "3m ago", "2h ago", "5d ago". */
export function ago(at: Date | string | null | undefined, now = Date.now()): string {
  if (!at) return '-';
  const seconds = Math.max(0, Math.round((now - new Date(at).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

/** "1 consumer", "2 consumers". */
export function plural(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

export function count(value: number | undefined): string {
  return value === undefined ? '-' : value.toLocaleString('en-US');
}

/** Keeps one line of at most `max` characters. */
export function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
