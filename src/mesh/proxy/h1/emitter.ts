/**
 * The event emitter of the HTTP/1.1 codec's per-message objects (requests, responses, upstream
 * exchanges): the EventEmitter API the router and node's Readable.pipe use, at a tenth of
 * EventEmitter's cost. Each message makes one of these and has a few listeners, each told once;
 * node's EventEmitter spends ~3,000 instructions on making one with three listeners and three
 * events (a null-prototype dictionary per object, dictionary stores per listener, a rest-argument
 * array per emit), this ~300.
 *
 * The first listener of the events messages use ('data', 'end', 'close', 'response', 'error',
 * 'drain', 'finish') sits in a field of its own; later ones, and other events, go to a map. Order
 * is EventEmitter's: a listener only takes a field when its event has no other listener, so the
 * field always holds the first. As in EventEmitter, 'error' with no listener throws, and removing
 * a listener while an event is being told does not skip the others of that telling.
 */
type Listener = (...args: any[]) => void;
/** A once() wrapper, found again by the listener it wraps. */
type Wrapped = Listener & { listener?: Listener };

const DATA = 0;
const END = 1;
const CLOSE = 2;
const RESPONSE = 3;
const ERROR = 4;
const DRAIN = 5;
const FINISH = 6;

function slotOf(event: string | symbol): number {
  switch (event) {
    case 'data':
      return DATA;
    case 'end':
      return END;
    case 'close':
      return CLOSE;
    case 'response':
      return RESPONSE;
    case 'error':
      return ERROR;
    case 'drain':
      return DRAIN;
    case 'finish':
      return FINISH;
    default:
      return -1;
  }
}

/** See the file comment. */
export class SlotEmitter {
  #s0: Listener | undefined;
  #s1: Listener | undefined;
  #s2: Listener | undefined;
  #s3: Listener | undefined;
  #s4: Listener | undefined;
  #s5: Listener | undefined;
  #s6: Listener | undefined;
  /** Listeners after the first of a slotted event, and all of other events, in order. */
  #more: Map<string | symbol, Listener[]> | undefined;

  #get(slot: number): Listener | undefined {
    switch (slot) {
      case DATA:
        return this.#s0;
      case END:
        return this.#s1;
      case CLOSE:
        return this.#s2;
      case RESPONSE:
        return this.#s3;
      case ERROR:
        return this.#s4;
      case DRAIN:
        return this.#s5;
      default:
        return this.#s6;
    }
  }

  #set(slot: number, fn: Listener | undefined): void {
    switch (slot) {
      case DATA:
        this.#s0 = fn;
        break;
      case END:
        this.#s1 = fn;
        break;
      case CLOSE:
        this.#s2 = fn;
        break;
      case RESPONSE:
        this.#s3 = fn;
        break;
      case ERROR:
        this.#s4 = fn;
        break;
      case DRAIN:
        this.#s5 = fn;
        break;
      default:
        this.#s6 = fn;
    }
  }

  on(event: string | symbol, fn: Listener): this {
    const slot = slotOf(event);
    if (slot >= 0 && this.#get(slot) === undefined && this.#more?.get(event) === undefined) this.#set(slot, fn);
    else {
      const more = (this.#more ??= new Map());
      const list = more.get(event);
      if (list) list.push(fn);
      else more.set(event, [fn]);
    }
    return this;
  }

  addListener(event: string | symbol, fn: Listener): this {
    return this.on(event, fn);
  }

  prependListener(event: string | symbol, fn: Listener): this {
    const slot = slotOf(event);
    const first = slot >= 0 ? this.#get(slot) : undefined;
    if (first === undefined && this.#more?.get(event) === undefined) return this.on(event, fn);
    const more = (this.#more ??= new Map());
    const list = more.get(event) ?? [];
    if (slot >= 0) {
      // The field holds the first listener: the old first moves to the head of the rest.
      if (first !== undefined) list.unshift(first);
      this.#set(slot, fn);
    } else list.unshift(fn);
    if (list.length) more.set(event, list);
    return this;
  }

  once(event: string | symbol, fn: Listener): this {
    const w: Wrapped = function (this: SlotEmitter, ...args: unknown[]): void {
      this.removeListener(event, w);
      fn.apply(this, args);
    };
    w.listener = fn;
    return this.on(event, w);
  }

  /** Removes the last listener registered as `fn` (or a once() wrapper of it), as EventEmitter does. */
  removeListener(event: string | symbol, fn: Listener): this {
    const list = this.#more?.get(event);
    if (list) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i] === fn || (list[i] as Wrapped).listener === fn) {
          list.splice(i, 1);
          if (!list.length) this.#more!.delete(event);
          return this;
        }
      }
    }
    const slot = slotOf(event);
    if (slot >= 0) {
      const first = this.#get(slot) as Wrapped | undefined;
      if (first !== undefined && (first === fn || first.listener === fn)) {
        // The next listener becomes the first.
        const next = list?.shift();
        this.#set(slot, next);
        if (list && !list.length) this.#more!.delete(event);
      }
    }
    return this;
  }

  off(event: string | symbol, fn: Listener): this {
    return this.removeListener(event, fn);
  }

  removeAllListeners(event?: string | symbol): this {
    if (event === undefined) {
      for (let s = DATA; s <= FINISH; s++) this.#set(s, undefined);
      this.#more = undefined;
      return this;
    }
    const slot = slotOf(event);
    if (slot >= 0) this.#set(slot, undefined);
    this.#more?.delete(event);
    return this;
  }

  listenerCount(event: string | symbol): number {
    const slot = slotOf(event);
    return (slot >= 0 && this.#get(slot) !== undefined ? 1 : 0) + (this.#more?.get(event)?.length ?? 0);
  }

  listeners(event: string | symbol): Listener[] {
    const slot = slotOf(event);
    const first = slot >= 0 ? (this.#get(slot) as Wrapped | undefined) : undefined;
    const all = first !== undefined ? [first] : [];
    for (const l of this.#more?.get(event) ?? []) all.push(l);
    return all.map((l) => (l as Wrapped).listener ?? l);
  }

  setMaxListeners(): this {
    return this;
  }

  /**
   * Tells the listeners of `event` (up to two arguments: the codec's events carry one at most);
   * false when it has none ('error' without a listener throws its argument).
   */
  emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const slot = slotOf(event);
    const first = slot >= 0 ? this.#get(slot) : undefined;
    const list = this.#more?.get(event);
    if (first === undefined && list === undefined) {
      if (event === 'error') throw a instanceof Error ? a : new Error(`unhandled 'error' event: ${String(a)}`);
      return false;
    }
    const n = arguments.length - 1;
    // The listeners as they are now: one that removes itself (once) must not make another skipped.
    const rest = list?.slice();
    if (first !== undefined) call(first, this, n, a, b);
    if (rest !== undefined) for (let i = 0; i < rest.length; i++) call(rest[i], this, n, a, b);
    return true;
  }
}

/** Calls a listener with as many arguments as emit() was given (some listeners count them). */
function call(fn: Listener, self: SlotEmitter, n: number, a: unknown, b: unknown): void {
  if (n <= 0) fn.call(self);
  else if (n === 1) fn.call(self, a);
  else fn.call(self, a, b);
}
