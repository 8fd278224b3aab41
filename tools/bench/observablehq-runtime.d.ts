/** The part of `@observablehq/runtime` 6 the execution benchmark uses (the package ships no types). */
declare module '@observablehq/runtime' {
  export interface Observer {
    pending?(): void;
    fulfilled?(value: unknown): void;
    rejected?(error: unknown): void;
  }

  export interface Variable {
    define(name: string | null, inputs: string[], definition: (...inputs: never[]) => unknown): Variable;
  }

  export interface Module {
    variable(observer?: Observer): Variable;
  }

  export class Runtime {
    constructor(builtins?: Record<string, unknown>);
    module(): Module;
    dispose(): void;
  }
}
