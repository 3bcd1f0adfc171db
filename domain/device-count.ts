/**
 * Distinct devices per bucket, in bounded space.
 *
 * A minute or hour bucket lists the devices heard in it (minutes with a tally
 * per device, for device rules). Stored in one JSON cell, an unbounded list
 * would let enough distinct long device ids in one hour push the row past the
 * platform's 2 MB row limit, after which every batch touching that hour fails.
 * So a bucket lists at most DEVICES_LISTED devices, the first heard (in log
 * order, so a replay lists the same ones). The first device beyond that
 * starts a HyperLogLog sketch of every device of the bucket (the listed ones
 * included), and each later device only adds to the sketch.
 *
 * Counts: exact while a bucket lists every device heard; beyond the cap an
 * estimate (standard error 1.04/√4096 ≈ 1.6%), never below the listed count
 * plus one. Device rules see only listed devices' tallies: a device first
 * heard in a minute after 1,000 others is not judged on that minute.
 *
 * A sketch is 4,096 registers, stored as one character each: a capped row is
 * at most ~1,000 × (id + tally) + 4 kB, whatever the number of devices.
 * Register-wise maximum makes merging order-free and idempotent, so an
 * incremental build, a replay and a union across buckets agree.
 */

export const DEVICES_LISTED = 1_000;

const P = 12;
const REGISTERS = 1 << P;
/** Registers as characters: '0' + rank, ranks 0..(32 - P + 1) = 0..21. */
const ZERO = 48;

export type DeviceSketch = Uint8Array;

/** FNV-1a over UTF-16 units, then murmur3's finaliser: spreads similar ids (`dev-1`, `dev-2`) over all 32 bits. */
function hash32(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const emptySketch = (): DeviceSketch => new Uint8Array(REGISTERS);

export function sketchAdd(sketch: DeviceSketch, id: string): void {
  const h = hash32(id);
  const index = h >>> (32 - P);
  const rest = (h << P) >>> 0;
  const rank = rest === 0 ? 32 - P + 1 : Math.clz32(rest) + 1;
  if (rank > sketch[index]!) sketch[index] = rank;
}

export function sketchMerge(into: DeviceSketch, from: DeviceSketch): void {
  for (let i = 0; i < REGISTERS; i++) if (from[i]! > into[i]!) into[i] = from[i]!;
}

/** HyperLogLog estimate with the small-range (linear counting) correction; 32-bit hashes are plenty below ~10⁸ devices. */
export function sketchEstimate(sketch: DeviceSketch): number {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < REGISTERS; i++) {
    sum += 2 ** -sketch[i]!;
    if (sketch[i] === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / REGISTERS);
  const raw = (alpha * REGISTERS * REGISTERS) / sum;
  return Math.round(raw <= 2.5 * REGISTERS && zeros > 0 ? REGISTERS * Math.log(REGISTERS / zeros) : raw);
}

export const encodeSketch = (sketch: DeviceSketch): string => String.fromCharCode(...Array.from(sketch, (r) => ZERO + r));

export function decodeSketch(text: string): DeviceSketch {
  const sketch = emptySketch();
  for (let i = 0; i < REGISTERS && i < text.length; i++) sketch[i] = text.charCodeAt(i) - ZERO;
  return sketch;
}

/** What a bucket's device count needs of it: the listed ids (a Set or a Map keyed by id) and the sketch once capped. */
export interface CappedDevices {
  devices: { has(id: string): boolean; readonly size: number; keys(): Iterable<string> };
  sketch?: DeviceSketch;
}

/**
 * Notes device `id` heard in `bucket`. True: the device is (or may now be)
 * listed, and the caller lists it if it is not yet. False: the list is full;
 * the device is counted in the sketch (started here, seeded with every listed
 * device) and not listed.
 */
export function hear(bucket: CappedDevices, id: string): boolean {
  if (bucket.devices.has(id)) return true;
  if (bucket.devices.size < DEVICES_LISTED) return true;
  if (!bucket.sketch) {
    bucket.sketch = emptySketch();
    for (const listed of bucket.devices.keys()) sketchAdd(bucket.sketch, listed);
  }
  sketchAdd(bucket.sketch, id);
  return false;
}

/** Distinct devices of one bucket: exact while uncapped, else the estimate (at least one more than listed). */
export function deviceCount(bucket: CappedDevices): number {
  return bucket.sketch ? Math.max(bucket.devices.size + 1, sketchEstimate(bucket.sketch)) : bucket.devices.size;
}

/** Distinct devices across buckets: the exact union while none is capped, else the union of their sketches. */
export function distinctDevices(buckets: Iterable<CappedDevices>): number {
  const listed = new Set<string>();
  const all = [...buckets];
  for (const b of all) for (const id of b.devices.keys()) listed.add(id);
  if (!all.some((b) => b.sketch)) return listed.size;
  const union = emptySketch();
  for (const b of all) {
    if (b.sketch) sketchMerge(union, b.sketch);
    else for (const id of b.devices.keys()) sketchAdd(union, id);
  }
  return Math.max(listed.size + 1, sketchEstimate(union));
}
