/**
 * Fixed-width slots in a few large Float32Arrays, for the vectors the engine keeps for thousands of
 * requests (records' pooled features and teacher answers).
 *
 * Why: kept as the arrays onnxruntime returns, every record held its own ArrayBuffers (~4 a
 * request on Fashion-MNIST). The records live long enough to reach V8's old generation, and each
 * new one displaced an old one that only a full mark-compact frees: under 1-client HTTP load the
 * caching server ran 8–11 full collections per 6,000 requests against none plain, and V8's
 * collector threads took as much CPU as caching saved (reports/earlyexit-history.md, session 28).
 * Copied into slots, a request's own arrays die young (a cheap scavenge), and a record that leaves
 * the windows hands its slot to a later one instead of leaving garbage behind.
 */
export class SlotArena {
  private readonly chunks: Float32Array[] = [];
  private readonly chunkOf = new Map<ArrayBuffer, number>();
  /** free slot ids (chunk × chunkSlots + slot) */
  private readonly free: number[] = [];
  /** 1 where a slot is handed out */
  private used = new Uint8Array(0);

  constructor(readonly width: number, private readonly chunkSlots = 256) {
    if (!Number.isInteger(width) || width <= 0) throw new Error(`slot width must be a positive integer, got ${width}`);
  }

  /** slots handed out and not released */
  get inUse(): number {
    return this.chunks.length * this.chunkSlots - this.free.length;
  }

  get capacity(): number {
    return this.chunks.length * this.chunkSlots;
  }

  /** a copy of `src` (exactly `width` long) in a free slot */
  take(src: Float32Array): Float32Array {
    if (src.length !== this.width) throw new Error(`slot arena of width ${this.width} given a vector of ${src.length}`);
    if (!this.free.length) this.grow();
    const id = this.free.pop()!;
    this.used[id] = 1;
    const off = (id % this.chunkSlots) * this.width;
    const slot = this.chunks[Math.floor(id / this.chunkSlots)]!.subarray(off, off + this.width);
    slot.set(src);
    return slot;
  }

  /** whether `v` is a slot of this arena that is handed out */
  owns(v: Float32Array): boolean {
    return this.idOf(v) !== undefined;
  }

  /** gives a slot back; the caller must hold no other reference to it. Anything else is ignored. */
  release(v: Float32Array): void {
    const id = this.idOf(v);
    if (id === undefined) return;
    this.used[id] = 0;
    this.free.push(id);
  }

  private idOf(v: Float32Array): number | undefined {
    const chunk = this.chunkOf.get(v.buffer as ArrayBuffer);
    if (chunk === undefined || v.length !== this.width) return undefined;
    const at = v.byteOffset / 4;
    if (at % this.width) return undefined;
    const id = chunk * this.chunkSlots + at / this.width;
    return this.used[id] ? id : undefined;
  }

  private grow(): void {
    const chunk = new Float32Array(this.width * this.chunkSlots);
    const index = this.chunks.length;
    this.chunks.push(chunk);
    this.chunkOf.set(chunk.buffer, index);
    const used = new Uint8Array(this.chunks.length * this.chunkSlots);
    used.set(this.used);
    this.used = used;
    // highest first: pop() then hands out the chunk's slots in order
    for (let s = this.chunkSlots - 1; s >= 0; s--) this.free.push(index * this.chunkSlots + s);
  }
}

/** one SlotArena per vector width (cuts of equal feature size share one) */
export class VectorArenas {
  private readonly byWidth = new Map<number, SlotArena>();

  /** a slot copy of v (an empty vector is returned as it is) */
  take(v: Float32Array): Float32Array {
    if (!v.length) return v;
    let a = this.byWidth.get(v.length);
    if (!a) this.byWidth.set(v.length, (a = new SlotArena(v.length)));
    return a.take(v);
  }

  release(v: Float32Array): void {
    this.byWidth.get(v.length)?.release(v);
  }

  /** slots handed out, over every width */
  get inUse(): number {
    let n = 0;
    for (const a of this.byWidth.values()) n += a.inUse;
    return n;
  }

  /** bytes of slot storage allocated */
  get bytes(): number {
    let n = 0;
    for (const a of this.byWidth.values()) n += a.capacity * a.width * 4;
    return n;
  }
}
