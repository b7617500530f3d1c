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

/** The listeners of one emitter: the first of each slotted event in a field, the rest in `more`. */
class Slots {
  s0: Listener | undefined = undefined;
  s1: Listener | undefined = undefined;
  s2: Listener | undefined = undefined;
  s3: Listener | undefined = undefined;
  s4: Listener | undefined = undefined;
  s5: Listener | undefined = undefined;
  s6: Listener | undefined = undefined;
  /** Listeners after the first of a slotted event, and all of other events, in order. */
  more: Map<string | symbol, Listener[]> | undefined = undefined;
}

/**
 * See the file comment. The listener fields live in a Slots made on the first on(): a message
 * nobody listens to (the usual request on the proxy's path, an exchange whose response is relayed)
 * costs one field, and its emits return at the first check.
 */
export class SlotEmitter {
  #l: Slots | undefined;

  #get(slot: number): Listener | undefined {
    const l = this.#l;
    if (l === undefined) return undefined;
    switch (slot) {
      case DATA:
        return l.s0;
      case END:
        return l.s1;
      case CLOSE:
        return l.s2;
      case RESPONSE:
        return l.s3;
      case ERROR:
        return l.s4;
      case DRAIN:
        return l.s5;
      default:
        return l.s6;
    }
  }

  #set(slot: number, fn: Listener | undefined): void {
    const l = (this.#l ??= new Slots());
    switch (slot) {
      case DATA:
        l.s0 = fn;
        break;
      case END:
        l.s1 = fn;
        break;
      case CLOSE:
        l.s2 = fn;
        break;
      case RESPONSE:
        l.s3 = fn;
        break;
      case ERROR:
        l.s4 = fn;
        break;
      case DRAIN:
        l.s5 = fn;
        break;
      default:
        l.s6 = fn;
    }
  }

  get #more(): Map<string | symbol, Listener[]> | undefined {
    return this.#l?.more;
  }

  /** The map of further listeners, made when first needed. */
  #moreMap(): Map<string | symbol, Listener[]> {
    const l = (this.#l ??= new Slots());
    return (l.more ??= new Map());
  }

  on(event: string | symbol, fn: Listener): this {
    const slot = slotOf(event);
    if (slot >= 0 && this.#get(slot) === undefined && this.#more?.get(event) === undefined) this.#set(slot, fn);
    else {
      const more = this.#moreMap();
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
    const more = this.#moreMap();
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
      this.#l = undefined;
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
    const l = this.#l;
    // Nobody listens to anything: no event name to look up.
    const slot = l === undefined ? -1 : slotOf(event);
    const first = slot >= 0 ? this.#get(slot) : undefined;
    const list = l?.more?.get(event);
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
