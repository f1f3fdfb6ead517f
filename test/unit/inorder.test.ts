import { describe, expect, it } from 'vitest';
import { inOrder } from '../../src/image/layers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('layers walked concurrently, handed over in order', () => {
  it('keeps stacking order when later layers finish first, with at most N in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    const delays = [40, 5, 20, 1, 30, 2];
    await inOrder(
      delays.length,
      async (i) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(delays[i]!);
        inFlight--;
        return i * 10;
      },
      (v, i) => {
        expect(v).toBe(i * 10);
        seen.push(i);
      },
      3,
    );
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(3);
  });

  it('starts a layer that may not go ahead (a seekable one) only at its turn', async () => {
    const started: string[] = [];
    await inOrder(
      4,
      async (i) => {
        started.push(`start ${i}`);
        await sleep(1);
        return i;
      },
      (v) => started.push(`done ${v}`),
      3,
      (i) => i !== 2,
    );
    // layer 2 waits for layer 1 to be handed over; layer 3 is not launched past it
    expect(started).toEqual(['start 0', 'start 1', 'done 0', 'done 1', 'start 2', 'start 3', 'done 2', 'done 3']);
  });

  it('throws the first failing layer in order; nothing after it is handed over', async () => {
    const seen: number[] = [];
    const p = inOrder(
      4,
      async (i) => {
        await sleep(i === 2 ? 1 : 10);
        if (i === 2 || i === 3) throw new Error(`layer ${i + 1} broken`);
        return i;
      },
      (v) => seen.push(v),
      4,
    );
    await expect(p).rejects.toThrow('layer 3 broken');
    expect(seen).toEqual([0, 1]);
  });
});
