/**
 * The code that runs first inside each sandbox, after the Observable runtime's bundle: it supplies
 * what a browser would (frames, timers, a silent console), the standard library's headless part,
 * observers that record each cell's state, and the two functions the host calls (`start`, `tick`,
 * `drain`). It is plain JavaScript evaluated by the guest engine, so it is a string here.
 *
 * Guest code runs in the same realm and may replace any built-in (prototype pollution). So the
 * harness captures the intrinsics it relies on before any cell runs, and keeps what the host reads
 * in null-prototype objects of primitives, which `JSON.stringify` serializes without consulting
 * anything a cell could have changed. A cell can still sabotage its own run; the host validates
 * whatever comes out.
 *
 * Conventions shared with the host (sandbox.ts):
 * - the runtime bundle leaves `{ Runtime, RuntimeError }` at `globalThis.__observableRuntime`;
 * - the harness leaves its API at `globalThis.__harness`; the host takes both away before any
 *   cell runs, so cells cannot reach them;
 * - `start(cellsJson)` defines the cells; `tick()` fires due frames and timers and answers
 *   `"pending,generators,frames,nextTimer"` (numbers; nextTimer -1 when none);
 * - `drain()` answers the observed cells' records as JSON (see `CellRecord` in sandbox.ts).
 */
export const GUEST_HARNESS = String.raw`
(function () {
  'use strict';
  const G = globalThis;
  const { Runtime, RuntimeError } = G.__observableRuntime;
  delete G.__observableRuntime;

  const now = Date.now;
  const stringify = JSON.stringify;
  const create = Object.create;
  const keys = Object.keys;
  const getPrototypeOf = Object.getPrototypeOf;
  const freeze = Object.freeze;
  const apply = Reflect.apply;
  const isArray = Array.isArray;
  const indirectEval = eval;
  const stringSlice = String.prototype.slice;
  const errorToString = Error.prototype.toString;
  const functionToString = Function.prototype.toString;
  const ObjectProto = Object.prototype;
  const ArrayProto = Array.prototype;
  const MapProto = Map.prototype;
  const SetProto = Set.prototype;
  const DateProto = Date.prototype;
  const RegExpProto = RegExp.prototype;
  const ErrorProto = Error.prototype;
  const dateToISOString = Date.prototype.toISOString;
  const regExpToString = RegExp.prototype.toString;
  const mapEntries = Map.prototype.entries;
  const setValues = Set.prototype.values;
  const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;
  const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size').get;
  const iteratorNext = getPrototypeOf(new Map().entries()).next;
  const setIteratorNext = getPrototypeOf(new Set().values()).next;
  const weakSetHas = WeakSet.prototype.has;
  const weakSetAdd = WeakSet.prototype.add;
  const StringOf = String;

  let limits = null;
  const slice = (text, end) => apply(stringSlice, text, [0, end]);
  const bound = (text, max) => (text.length > max ? slice(text, max - 1) + '…' : text);

  // Frames and timers run only when the host ticks, so nothing escapes the run's budget.
  let frames = create(null);
  let frameSeq = 0;
  const timers = create(null);
  let timerSeq = 0;
  G.requestAnimationFrame = function (callback) { frames[++frameSeq] = callback; return frameSeq; };
  G.cancelAnimationFrame = function (id) { delete frames[id]; };
  function addTimer(callback, ms, args, repeat) {
    // As browsers do: a delay that is not a positive finite number is 0, and it is at most 2^31 - 1.
    let delay = +ms;
    if (!(delay > 0)) delay = 0;
    if (delay > 2147483647) delay = 2147483647;
    const timer = create(null);
    timer.callback = callback;
    timer.args = args;
    timer.due = now() + delay;
    timer.every = repeat ? (delay > 4 ? delay : 4) : 0;
    timers[++timerSeq] = timer;
    return timerSeq;
  }
  G.setTimeout = function (callback, ms, ...args) { return addTimer(callback, ms, args, false); };
  G.setInterval = function (callback, ms, ...args) { return addTimer(callback, ms, args, true); };
  G.clearTimeout = G.clearInterval = function (id) { delete timers[id]; };
  const noop = function () {};
  G.console = { log: noop, info: noop, warn: noop, error: noop, debug: noop, table: noop };

  function callQuietly(callback, args) {
    try {
      if (typeof callback === 'function') apply(callback, undefined, args);
    } catch (error) {
      // An exception in a frame or timer callback goes nowhere, as in a browser's console.
    }
  }

  function tick() {
    const due = frames;
    frames = create(null);
    for (const id in due) callQuietly(due[id], [now()]);
    const time = now();
    for (const id in timers) {
      const timer = timers[id];
      if (timer === undefined || timer.due > time) continue;
      if (timer.every > 0) timer.due = time + timer.every;
      else delete timers[id];
      callQuietly(timer.callback, timer.args);
    }
    let next = -1;
    for (const id in timers) if (next < 0 || timers[id].due < next) next = timers[id].due;
    let pendingFrames = 0;
    for (const id in frames) { pendingFrames = 1; break; }
    return pending + ',' + liveGenerators + ',' + pendingFrames + ',' + next;
  }

  // md and html produce a marker the host renders (markdown) and sanitizes; nothing is parsed here.
  const markers = new WeakSet();
  function template(tag, strings, values) {
    const kind = tag === 'html' ? 'html' : 'md';
    let source = '';
    for (let i = 0; i < strings.length; ++i) {
      source += strings[i];
      if (i < values.length) source += interpolate(values[i]);
      if (source.length > limits.htmlSourceMax) { source = slice(source, limits.htmlSourceMax); break; }
    }
    const marker = create(null);
    marker.kind = kind;
    marker.source = source;
    freeze(marker);
    apply(weakSetAdd, markers, [marker]);
    return marker;
  }
  function interpolate(value) {
    if (value === null || value === undefined) return '';
    if (typeof value === 'object' && apply(weakSetHas, markers, [value])) return value.source;
    if (isArray(value)) { let out = ''; for (let i = 0; i < value.length; ++i) out += interpolate(value[i]); return out; }
    return StringOf(value);
  }
  const tagged = (kind) => function (strings, ...values) {
    const parts = [];
    for (let i = 0; i < strings.length; ++i) parts[i] = StringOf(strings.raw ? strings.raw[i] : strings[i]);
    return template(kind, parts, values);
  };

  // Generators are tracked so the run knows when they are done (or out of budget).
  let liveGenerators = 0;
  function track(generator) {
    if (generator === null || typeof generator !== 'object') return generator;
    ++liveGenerators;
    let live = true;
    const finish = () => { if (live) { live = false; --liveGenerators; } };
    const step = (method, value) => {
      let result;
      try {
        result = apply(generator[method], generator, [value]);
      } catch (error) {
        finish();
        throw error;
      }
      if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
        return result.then((r) => { if (!r || r.done) finish(); return r; }, (error) => { finish(); throw error; });
      }
      if (!result || result.done) finish();
      return result;
    };
    return {
      next: (value) => step('next', value),
      return: (value) => { finish(); return step('return', value); },
      throw: (error) => step('throw', error),
    };
  }

  const builtins = {
    md: () => tagged('md'),
    html: () => tagged('html'),
    width: () => 640,
    now: () => track((function* () { while (true) yield now(); })()),
    Promises: () => ({
      delay: (ms, value) => new Promise((resolve) => G.setTimeout(() => resolve(value), ms)),
      when: (date, value) => new Promise((resolve) => G.setTimeout(() => resolve(value), +date - now())),
      tick: (ms, value) => new Promise((resolve) => G.setTimeout(() => resolve(value), Math.ceil((now() + 1) / ms) * ms - now())),
    }),
    Generators: () => ({
      observe: (initialize) => {
        let resolve = null;
        let latest;
        let stale = false;
        const dispose = initialize((value) => {
          latest = value;
          if (resolve) { const r = resolve; resolve = null; r(value); } else stale = true;
          return value;
        });
        return track({
          next: () => ({ done: false, value: stale ? (stale = false, Promise.resolve(latest)) : new Promise((r) => (resolve = r)) }),
          return: () => { if (typeof dispose === 'function') dispose(); return { done: true }; },
          throw: () => ({ done: true }),
        });
      },
    }),
  };

  // What the host reads: one record per observed cell, strings and numbers only.
  const records = create(null);
  let pending = 0;

  function errorText(error) {
    try {
      if (error instanceof RuntimeError) return bound(StringOf(error.message), limits.displayMax);
      if (error !== null && typeof error === 'object' && isErrorLike(error)) return bound(apply(errorToString, error, []), limits.displayMax);
      return bound('Error: the cell threw ' + inspect(error, 0), limits.displayMax);
    } catch (failure) {
      return 'Error: the cell threw a value that cannot be described';
    }
  }
  function isErrorLike(value) {
    for (let proto = getPrototypeOf(value); proto !== null; proto = getPrototypeOf(proto)) if (proto === ErrorProto) return true;
    return false;
  }

  function inspect(value, depth) {
    switch (typeof value) {
      case 'string': return depth === 0 ? stringify(bound(value, limits.displayMax)) : stringify(bound(value, 100));
      case 'number': return Object.is(value, -0) ? '-0' : StringOf(value);
      case 'bigint': return StringOf(value) + 'n';
      case 'boolean': case 'undefined': return StringOf(value);
      case 'symbol': return 'Symbol(' + bound(StringOf(value.description ?? ''), 100) + ')';
      case 'function': {
        const source = apply(functionToString, value, []);
        const kind = /^class\b/.test(source) ? 'class' : 'ƒ';
        return kind + ' ' + bound(StringOf(value.name || ''), 100) + (kind === 'ƒ' ? '(…)' : ' {…}');
      }
    }
    if (value === null) return 'null';
    if (apply(weakSetHas, markers, [value])) return value.source;
    const proto = getPrototypeOf(value);
    if (proto === DateProto) { try { return apply(dateToISOString, value, []); } catch (e) { return 'Invalid Date'; } }
    if (proto === RegExpProto) return bound(apply(regExpToString, value, []), 200);
    if (isErrorLike(value)) return bound(apply(errorToString, value, []), 200);
    const items = [];
    let label;
    let total;
    const room = depth >= 2 ? 0 : 20;
    if (isArray(value)) {
      label = 'Array(' + value.length + ')';
      total = value.length;
      for (let i = 0; i < value.length && items.length < room; ++i) items[items.length] = inspect(value[i], depth + 1);
      return total === 0 ? '[]' : label + ' [' + listed(items, total) + ']';
    }
    if (proto === MapProto) {
      total = apply(mapSize, value, []);
      const entries = apply(mapEntries, value, []);
      for (let step = apply(iteratorNext, entries, []); !step.done && items.length < room; step = apply(iteratorNext, entries, [])) {
        items[items.length] = inspect(step.value[0], depth + 1) + ' => ' + inspect(step.value[1], depth + 1);
      }
      return 'Map(' + total + ') {' + listed(items, total) + '}';
    }
    if (proto === SetProto) {
      total = apply(setSize, value, []);
      const values = apply(setValues, value, []);
      for (let step = apply(setIteratorNext, values, []); !step.done && items.length < room; step = apply(setIteratorNext, values, [])) {
        items[items.length] = inspect(step.value, depth + 1);
      }
      return 'Set(' + total + ') {' + listed(items, total) + '}';
    }
    const names = keys(value);
    for (let i = 0; i < names.length && items.length < room; ++i) items[items.length] = bound(names[i], 100) + ': ' + inspect(value[names[i]], depth + 1);
    label = proto === ObjectProto || proto === null ? 'Object' : bound(StringOf((proto.constructor && proto.constructor.name) || 'Object'), 100);
    return label + ' {' + listed(items, names.length) + '}';
  }
  function listed(items, total) {
    let text = '';
    for (let i = 0; i < items.length; ++i) text += (i > 0 ? ', ' : '') + items[i];
    return total > items.length ? text + (items.length > 0 ? ', …' : '…') : text;
  }

  // JSON with a budget: gives up (null) as soon as the text would exceed it.
  function boundedJson(value) {
    let budget = limits.valueMax;
    try {
      const text = stringify(value, function (key, item) {
        budget -= key.length + 4;
        if (typeof item === 'string') budget -= item.length;
        if (budget < 0) throw limits;
        return item;
      });
      return text === undefined || text.length > limits.valueMax ? null : text;
    } catch (error) {
      return null;
    }
  }

  function observe(id) {
    const record = create(null);
    record.status = 'PENDING';
    record.display = null;
    record.json = null;
    record.markup = null;
    record.markupKind = null;
    record.error = null;
    record.startedAt = now();
    record.durationMs = 0;
    records[id] = record;
    ++pending;
    let waiting = true;
    const settle = () => {
      if (waiting) { waiting = false; --pending; }
      record.durationMs = now() - record.startedAt;
    };
    return {
      pending() {
        if (!waiting) { waiting = true; ++pending; }
        record.startedAt = now();
      },
      fulfilled(value) {
        settle();
        record.status = 'OK';
        record.error = null;
        try {
          if (value !== null && typeof value === 'object' && apply(weakSetHas, markers, [value])) {
            record.markup = value.source;
            record.markupKind = value.kind;
            record.display = bound(value.source, limits.displayMax);
            record.json = null;
          } else {
            record.markup = null;
            record.markupKind = null;
            record.display = bound(inspect(value, 0), limits.displayMax);
            record.json = boundedJson(value);
          }
        } catch (error) {
          record.display = bound('the value cannot be described: ' + errorText(error), limits.displayMax);
          record.json = null;
        }
      },
      rejected(error) {
        settle();
        record.status = 'ERROR';
        record.display = null;
        record.json = null;
        record.markup = null;
        record.markupKind = null;
        record.error = errorText(error);
      },
    };
  }

  function start(cellsJson) {
    const request = JSON.parse(cellsJson);
    limits = request.limits;
    const runtime = new Runtime(builtins);
    const main = runtime.module();
    for (const cell of request.cells) {
      const variable = cell.observed ? main.variable(observe(cell.id)) : main.variable();
      if (cell.error !== null) {
        const error = new RuntimeError(cell.error);
        variable.define(cell.name, [], () => { throw error; });
        continue;
      }
      let definition;
      try {
        definition = indirectEval(cell.factory)(template);
      } catch (error) {
        const failure = error;
        definition = () => { throw failure; };
      }
      const generated = cell.generator ? function (...inputs) { return track(apply(definition, this, inputs)); } : definition;
      variable.define(cell.name, cell.inputs, generated);
    }
  }

  function drain() {
    return stringify(records);
  }

  G.__harness = { start, tick, drain };
})();
`;
