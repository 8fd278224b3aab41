import { formatLogLine } from './log-format';

describe(formatLogLine.name, () => {
  it('turns a pino line into one readable line with the service, level, context and correlation id', () => {
    const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 678), msg: 'slow', context: 'Nats', correlationId: 'c-1' });

    expect(formatLogLine('auth-service', 0, line, 14, false)).toBe('auth-service   | 03:04:05.678 WARN  [Nats] slow (c-1)');
  });

  it('shows a request\'s method, path, status and time, and an error\'s stack', () => {
    const request = JSON.stringify({ level: 30, time: 0, msg: 'request completed', req: { method: 'POST', url: '/graphql' }, res: { statusCode: 200 }, responseTime: 12 });
    const failure = JSON.stringify({ level: 50, time: 0, msg: 'boom', err: { stack: 'Error: boom\n    at x' } });

    expect(formatLogLine('gateway', 1, request, 7, false)).toContain('request completed POST /graphql 200 12ms');
    expect(formatLogLine('gateway', 1, failure, 7, false)).toMatch(/ERROR boom\nError: boom\n {4}at x$/);
  });

  it('passes through lines that are not JSON, and colours only when asked', () => {
    expect(formatLogLine('gateway', 0, 'plain text', 7, false)).toBe('gateway | plain text');
    expect(formatLogLine('gateway', 0, 'plain text', 7, true)).toBe('\x1b[36mgateway\x1b[0m | plain text');
  });
});
