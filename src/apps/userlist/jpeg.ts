/**
 * A tiny baseline JPEG encoder for block-pixel-art: every 8×8 block is one flat colour, so each block needs
 * only its DC coefficient and an end-of-block code. That keeps the encoder to a page while producing real,
 * decodable JFIF files, which is what the original app's `/assets/image/cat<N>.jpg` are.
 */

/** An RGB colour. */
export type Rgb = readonly [number, number, number];

// Standard JPEG luminance DC Huffman table (ITU T.81 K.3): code lengths per length 1..16, then the symbols.
const DC_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_SYMBOLS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
// Our AC table has a single symbol, EOB (0x00), coded as the one-bit code "0": every block is flat.
const AC_COUNTS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_SYMBOLS = [0];
// With every quantiser at 8 the DC coefficient of a flat block (8 × (sample − 128)) quantises to sample − 128.
const QUANT = 8;

/** Canonical Huffman codes for a (counts, symbols) table: symbol → [code, length]. */
function huffmanCodes(counts: readonly number[], symbols: readonly number[]): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < counts[len - 1]; i++) out.set(symbols[k++], [code++, len]);
    code <<= 1;
  }
  return out;
}

const DC_CODES = huffmanCodes(DC_COUNTS, DC_SYMBOLS);

/** Collects entropy-coded bits, stuffing a zero byte after every 0xFF as the format requires. */
class BitWriter {
  #bytes: number[] = [];
  #acc = 0;
  #n = 0;

  write(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((code >> i) & 1);
      if (++this.#n === 8) this.#flush();
    }
  }

  finish(): number[] {
    while (this.#n !== 0) this.write(1, 1); // pad the last byte with 1-bits
    return this.#bytes;
  }

  #flush(): void {
    this.#bytes.push(this.#acc);
    if (this.#acc === 0xff) this.#bytes.push(0);
    this.#acc = 0;
    this.#n = 0;
  }
}

function clampByte(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** JFIF RGB → YCbCr. */
function ycbcr([r, g, b]: Rgb): [number, number, number] {
  return [
    clampByte(0.299 * r + 0.587 * g + 0.114 * b),
    clampByte(128 - 0.168736 * r - 0.331264 * g + 0.5 * b),
    clampByte(128 + 0.5 * r - 0.418688 * g - 0.081312 * b),
  ];
}

function segment(marker: number, payload: number[]): number[] {
  const len = payload.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...payload];
}

/** Encodes a grid of block colours (rows of equal length) as a JPEG whose pixels are 8×8 flat blocks. */
export function encodeBlockJpeg(blocks: readonly (readonly Rgb[])[]): Buffer {
  const rows = blocks.length;
  const cols = blocks[0]?.length ?? 0;
  if (rows === 0 || cols === 0 || blocks.some((r) => r.length !== cols)) throw new RangeError('block grid must be non-empty and rectangular');
  const width = cols * 8;
  const height = rows * 8;
  const bits = new BitWriter();
  const prev = [0, 0, 0];
  for (const row of blocks) {
    for (const colour of row) {
      const comps = ycbcr(colour);
      for (let c = 0; c < 3; c++) {
        const dc = comps[c] - 128;
        const diff = dc - prev[c];
        prev[c] = dc;
        const mag = Math.abs(diff);
        const cat = mag === 0 ? 0 : 32 - Math.clz32(mag);
        const [code, len] = DC_CODES.get(cat)!;
        bits.write(code, len);
        if (cat > 0) bits.write(diff >= 0 ? diff : diff + (1 << cat) - 1, cat);
        bits.write(0, 1); // EOB
      }
    }
  }
  const jfif = [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const dqt = [0, ...new Array<number>(64).fill(QUANT)];
  const sof = [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0];
  const dht = [0x00, ...DC_COUNTS, ...DC_SYMBOLS, 0x10, ...AC_COUNTS, ...AC_SYMBOLS];
  const sos = [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0];
  return Buffer.from([
    0xff, 0xd8,
    ...segment(0xe0, jfif),
    ...segment(0xdb, dqt),
    ...segment(0xc0, sof),
    ...segment(0xc4, dht),
    ...segment(0xda, sos),
    ...bits.finish(),
    0xff, 0xd9,
  ]);
}

// An 8×8 cat face: f fur, e eye, n nose, . background.
const CAT = ['.f....f.', '.ff..ff.', '.ffffff.', '.feffef.', '.ffffff.', '.ffnnff.', '..ffff..', '........'];

/** A 64×64 pixel-art cat face JPEG in the given fur colour. */
export function catJpeg(fur: Rgb): Buffer {
  const palette: Record<string, Rgb> = { f: fur, e: [30, 30, 30], n: [240, 130, 150], '.': [245, 242, 235] };
  return encodeBlockJpeg(CAT.map((line) => [...line].map((ch) => palette[ch])));
}
