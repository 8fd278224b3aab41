/**
 * A namespace isolates several deployments (or test files) that share one NATS server: it prefixes
 * stream names, subjects and durable consumer names. The empty namespace is production's.
 */
export function qualifySubject(namespace: string, subject: string): string {
  return namespace ? `${namespace}.${subject}` : subject;
}

/** Stream, bucket and consumer names may not contain dots, so the namespace joins them with `_`. */
export function qualifyName(namespace: string, name: string): string {
  return namespace ? `${namespace}_${name}` : name;
}
