import { open } from 'node:fs/promises';

const TAIL_BYTES = 65_536;

/**
 * Seconds of Opus audio in an OGG file, from its pages: the last page's granule position
 * (48 kHz samples) minus the pre-skip of the OpusHead. Works on a file whose writer was killed:
 * every complete page counts. Undefined when the file holds no Opus page.
 */
export async function oggOpusDuration(file: string): Promise<number | undefined> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await handle.read(head, 0, head.length, 0);
    const opusHead = head.indexOf('OpusHead');
    if (head.toString('ascii', 0, 4) !== 'OggS' || opusHead < 0 || opusHead + 12 > head.length) {
      return undefined;
    }
    const preSkip = head.readUInt16LE(opusHead + 10);
    const tail = Buffer.alloc(Math.min(size, TAIL_BYTES));
    await handle.read(tail, 0, tail.length, size - tail.length);
    // The last complete page: its header (27 bytes) and segment table must be in the file.
    for (let at = tail.lastIndexOf('OggS'); at >= 0; at = tail.lastIndexOf('OggS', at - 1)) {
      if (at + 27 > tail.length) continue;
      const segments = tail[at + 26]!;
      if (at + 27 + segments > tail.length) continue;
      let body = 0;
      for (let i = 0; i < segments; i++) body += tail[at + 27 + i]!;
      if (at + 27 + segments + body > tail.length) continue;
      const granule = tail.readBigInt64LE(at + 6);
      if (granule < 0n) continue;
      return Math.max(0, Number(granule) - preSkip) / 48_000;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}
