const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLORS = [36, 32, 35, 33, 34, 96, 92];

interface PinoLine {
  level?: number;
  time?: number;
  msg?: string;
  context?: string;
  correlationId?: string;
  err?: { message?: string; stack?: string };
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

/** Turns a service's JSON log line into one readable line, prefixed with the service's name. */
export function formatLogLine(service: string, index: number, line: string, width: number, color: boolean): string {
  const paint = (text: string, code: number) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const prefix = paint(service.padEnd(width), COLORS[index % COLORS.length] ?? 37);
  let parsed: PinoLine;
  try {
    parsed = JSON.parse(line) as PinoLine;
  } catch {
    return `${prefix} | ${line}`;
  }
  const time = new Date(parsed.time ?? Date.now()).toISOString().slice(11, 23);
  const level = LEVELS[parsed.level ?? 30] ?? 'INFO ';
  const levelText = (parsed.level ?? 30) >= 50 ? paint(level, 31) : (parsed.level ?? 30) >= 40 ? paint(level, 33) : level;
  const context = parsed.context ? `[${parsed.context}] ` : '';
  const request = parsed.req && parsed.res ? ` ${parsed.req.method} ${parsed.req.url} ${parsed.res.statusCode} ${parsed.responseTime}ms` : '';
  const correlation = parsed.correlationId ? ` (${parsed.correlationId})` : '';
  const error = parsed.err?.stack ? `\n${parsed.err.stack}` : '';
  return `${prefix} | ${time} ${levelText} ${context}${parsed.msg ?? ''}${request}${correlation}${error}`;
}
