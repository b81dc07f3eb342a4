// The daemon's memory as `meshd status --json` reports it (issue 19 item 7: where a loaded peer's
// RSS goes): process.memoryUsage() in MiB, one decimal. heap = V8's JavaScript heap (used of total),
// external = memory V8 objects hold outside it (Buffers and ArrayBuffers: pools, KCP segments, FEC
// groups), arrayBuffers = the part of external in ArrayBuffers; rss - heapTotal - external is the
// rest (code, native addon batches, the allocator's free lists, thread stacks).

export interface MemoryJson {
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  /** malloc_trim calls by peer/memory-trim.ts and the MiB of RSS they gave back (absent: no trimmer). */
  trims?: number;
  trimmedMiB?: number;
}

const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

export function memoryJson(m: NodeJS.MemoryUsage, trim?: { trims: number; freedBytes: number }): MemoryJson {
  const j: MemoryJson = { rssMiB: mib(m.rss), heapTotalMiB: mib(m.heapTotal), heapUsedMiB: mib(m.heapUsed), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers) };
  if (trim !== undefined) {
    j.trims = trim.trims;
    j.trimmedMiB = mib(trim.freedBytes);
  }
  return j;
}
