import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { SlotEmitter } from './emitter.ts';

/** The same script of on/once/prepend/remove/emit on SlotEmitter and EventEmitter: the same calls, in the same order. */
function script(seed: number): { slot: string[]; node: string[] } {
  let x = seed;
  const rand = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const events = ['data', 'end', 'close', 'error', 'custom', Symbol.for('sym')];
  const run = (e: SlotEmitter | EventEmitter, log: string[]): void => {
    x = seed;
    const fns = Array.from({ length: 6 }, (_, i) => {
      const f = function (this: unknown, ...args: unknown[]): void {
        log.push(`f${i}(${args.map(String).join(',')})`);
        // Some listeners remove another one while the event is being told.
        if (i === 3) e.removeListener('data', fns[4]);
      };
      return f;
    });
    for (let step = 0; step < 60; step++) {
      const ev = events[rand(events.length)];
      const fn = fns[rand(fns.length)];
      switch (rand(7)) {
        case 0:
        case 1:
          e.on(ev, fn);
          break;
        case 2:
          e.once(ev, fn);
          break;
        case 3:
          e.prependListener(ev, fn);
          break;
        case 4:
          e.removeListener(ev, fn);
          break;
        default:
          if (ev === 'error' && e.listenerCount('error') === 0) break;
          log.push(`emit ${String(ev)} → ${e.emit(ev, step)} (${e.listenerCount(ev)} left)`);
      }
    }
  };
  const slot: string[] = [];
  const node: string[] = [];
  run(new SlotEmitter(), slot);
  run(new EventEmitter(), node);
  return { slot, node };
}

test("SlotEmitter calls listeners as EventEmitter does: order, once, prepend, removal while telling", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const { slot, node } = script(seed);
    assert.deepEqual(slot, node, `seed ${seed}`);
  }
});

test("SlotEmitter throws an 'error' nobody listens to, passes as many arguments as given, and counts listeners", () => {
  const e = new SlotEmitter();
  assert.throws(() => e.emit('error', new Error('boom')), /boom/);
  const seen: number[] = [];
  e.on('close', (...args: unknown[]) => seen.push(args.length));
  e.on('close', (...args: unknown[]) => seen.push(args.length));
  e.emit('close');
  e.emit('close', 1);
  assert.deepEqual(seen, [0, 0, 1, 1]);
  assert.equal(e.listenerCount('close'), 2);
  assert.equal(e.listeners('close').length, 2);
  e.removeAllListeners('close');
  assert.equal(e.emit('close'), false);
});

test("SlotEmitter works with events.once and as the destination of node's Readable.pipe", async () => {
  const e = new SlotEmitter();
  setImmediate(() => e.emit('response', 'r'));
  assert.deepEqual(await once(e as unknown as EventEmitter, 'response'), ['r']);
  // A writable-shaped SlotEmitter that node's pipe() drives (on/once/prependListener/emit).
  const chunks: string[] = [];
  let ended = false;
  const dest = Object.assign(new SlotEmitter(), {
    write(c: Buffer): boolean {
      chunks.push(c.toString());
      return true;
    },
    end(): void {
      ended = true;
    },
  });
  const src = new PassThrough();
  src.pipe(dest as unknown as NodeJS.WritableStream);
  src.write('a');
  src.end('b');
  await once(src, 'end');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(chunks, ['a', 'b']);
  assert.equal(ended, true);
});
