// A QR code encoder (JIS X 0510 / ISO/IEC 18004), small on purpose: byte
// mode, error correction level M, versions 1 to 10 (up to 213 bytes), the
// mask chosen by the standard's penalty rules. It draws the authenticator
// app's otpauth:// URI in the page, so the secret never leaves the browser
// for an image service.

const MAX_VERSION = 10;
// Level M, by version 1..10: error correction codewords per block, blocks.
const ECC_PER_BLOCK = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26];
const BLOCKS = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5];
const LEVEL_M_BITS = 0; // format information: L=1, M=0, Q=3, H=2

/** rawModules is how many modules of a version carry data or ECC bits. */
function rawModules(ver) {
  let n = (16 * ver + 128) * ver + 64;
  if (ver >= 2) {
    const align = Math.floor(ver / 7) + 2;
    n -= (25 * align - 10) * align - 55;
    if (ver >= 7) n -= 36;
  }
  return n;
}

/** dataCodewords is the capacity in bytes of a version at level M. */
function dataCodewords(ver) {
  return Math.floor(rawModules(ver) / 8) - ECC_PER_BLOCK[ver - 1] * BLOCKS[ver - 1];
}

/** alignmentPositions are the centres' coordinates of a version. */
function alignmentPositions(ver) {
  if (ver === 1) return [];
  const size = ver * 4 + 17;
  const n = Math.floor(ver / 7) + 2;
  const step = Math.ceil((ver * 4 + 4) / (n * 2 - 2)) * 2;
  const out = [6];
  for (let pos = size - 7; out.length < n; pos -= step) out.splice(1, 0, pos);
  return out;
}

// GF(256) with the polynomial x^8 + x^4 + x^3 + x^2 + 1.
function gfMul(x, y) {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}

/** rsDivisor is the generator polynomial of degree n (leading 1 left out). */
function rsDivisor(n) {
  const out = new Array(n).fill(0);
  out[n - 1] = 1;
  let root = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[j] = gfMul(out[j], root);
      if (j + 1 < n) out[j] ^= out[j + 1];
    }
    root = gfMul(root, 0x02);
  }
  return out;
}

/** rsRemainder is the Reed–Solomon error correction of data. */
function rsRemainder(data, divisor) {
  const out = new Array(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ out.shift();
    out.push(0);
    divisor.forEach((coef, i) => { out[i] ^= gfMul(coef, factor); });
  }
  return out;
}

/** codewords splits data in blocks, adds each one's ECC and interleaves. */
function codewords(data, ver) {
  const blocks = BLOCKS[ver - 1];
  const ecc = ECC_PER_BLOCK[ver - 1];
  const total = Math.floor(rawModules(ver) / 8);
  const short = blocks - (total % blocks);
  const shortLen = Math.floor(total / blocks);
  const divisor = rsDivisor(ecc);
  const all = [];
  for (let i = 0, k = 0; i < blocks; i++) {
    const len = shortLen - ecc + (i < short ? 0 : 1);
    const dat = data.slice(k, k + len);
    k += len;
    const block = dat.concat(rsRemainder(dat, divisor));
    if (i < short) block.splice(len, 0, 0); // a placeholder keeps columns aligned
    all.push(block);
  }
  const out = [];
  for (let i = 0; i < all[0].length; i++) {
    all.forEach((block, j) => {
      if (i !== shortLen - ecc || j >= short) out.push(block[i]);
    });
  }
  return out;
}

/** dataBytes encodes text in byte mode (UTF-8) for the smallest version. */
function dataBytes(text) {
  const bytes = new TextEncoder().encode(text);
  for (let ver = 1; ver <= MAX_VERSION; ver++) {
    const countBits = ver <= 9 ? 8 : 16;
    const capacity = dataCodewords(ver) * 8;
    if (4 + countBits + bytes.length * 8 > capacity) continue;
    const bits = [];
    const put = (v, n) => { for (let i = n - 1; i >= 0; i--) bits.push((v >>> i) & 1); };
    put(0b0100, 4);
    put(bytes.length, countBits);
    for (const b of bytes) put(b, 8);
    put(0, Math.min(4, capacity - bits.length));
    put(0, (8 - (bits.length % 8)) % 8);
    const out = [];
    for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
    for (let pad = 0xec; out.length < capacity / 8; pad ^= 0xec ^ 0x11) out.push(pad);
    return { ver, data: out };
  }
  throw new RangeError(`QRコードにするには長すぎます（${bytes.length}バイト）。`);
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x, y) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

/** bch returns value followed by its remainder (degree bits) by generator. */
function bch(value, degree, generator) {
  let rem = value;
  for (let i = 0; i < degree; i++) rem = (rem << 1) ^ ((rem >>> (degree - 1)) * generator);
  return (value << degree) | rem;
}

class Matrix {
  constructor(ver) {
    this.ver = ver;
    this.size = ver * 4 + 17;
    this.dark = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
    this.fixed = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
  }

  set(x, y, dark) {
    this.dark[y][x] = dark;
    this.fixed[y][x] = true;
  }

  functionPatterns() {
    const { size } = this;
    for (let i = 0; i < size; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const x = cx + dx; const y = cy + dy;
          const d = Math.max(Math.abs(dx), Math.abs(dy));
          if (x >= 0 && x < size && y >= 0 && y < size) this.set(x, y, d !== 2 && d !== 4);
        }
      }
    }
    const pos = alignmentPositions(this.ver);
    pos.forEach((cx, i) => pos.forEach((cy, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === pos.length - 1) || (i === pos.length - 1 && j === 0)) return;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) this.set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    }));
    this.format(0); // reserves the modules; drawn again once the mask is known
    if (this.ver >= 7) {
      const bits = bch(this.ver, 12, 0x1f25);
      for (let i = 0; i < 18; i++) {
        const d = ((bits >>> i) & 1) === 1;
        const a = size - 11 + (i % 3); const b = Math.floor(i / 3);
        this.set(a, b, d);
        this.set(b, a, d);
      }
    }
  }

  format(mask) {
    const { size } = this;
    const bits = bch((LEVEL_M_BITS << 3) | mask, 10, 0x537) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i++) this.set(8, i, bit(i));
    this.set(8, 7, bit(6));
    this.set(8, 8, bit(7));
    this.set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) this.set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) this.set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) this.set(8, size - 15 + i, bit(i));
    this.set(8, size - 8, true); // the dark module
  }

  place(cw) {
    const { size } = this;
    let i = 0;
    for (let right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (let v = 0; v < size; v++) {
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          const upward = ((right + 1) & 2) === 0;
          const y = upward ? size - 1 - v : v;
          if (!this.fixed[y][x] && i < cw.length * 8) {
            this.dark[y][x] = ((cw[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
            i++;
          }
        }
      }
    }
  }

  mask(m) {
    const f = MASKS[m];
    for (let y = 0; y < this.size; y++) {
      for (let x = 0; x < this.size; x++) {
        if (!this.fixed[y][x] && f(x, y)) this.dark[y][x] = !this.dark[y][x];
      }
    }
  }

  // penalty scores the symbol by the four rules of the standard: runs of
  // five or more, 2×2 blocks, finder-like 1:1:3:1:1 patterns with four
  // light modules beside, and the balance of dark and light.
  penalty() {
    const { size, dark } = this;
    let points = 0;
    for (let a = 0; a < size; a++) {
      let runRow = 0; let runCol = 0; let lastRow = null; let lastCol = null;
      let bitsRow = 0; let bitsCol = 0;
      for (let b = 0; b < size; b++) {
        const r = dark[a][b]; const c = dark[b][a];
        if (r === lastRow) runRow++; else { if (runRow >= 5) points += 3 + runRow - 5; lastRow = r; runRow = 1; }
        if (c === lastCol) runCol++; else { if (runCol >= 5) points += 3 + runCol - 5; lastCol = c; runCol = 1; }
        bitsRow = ((bitsRow << 1) & 0x7ff) | (r ? 1 : 0);
        bitsCol = ((bitsCol << 1) & 0x7ff) | (c ? 1 : 0);
        if (b >= 10 && (bitsRow === 0x5d0 || bitsRow === 0x05d)) points += 40;
        if (b >= 10 && (bitsCol === 0x5d0 || bitsCol === 0x05d)) points += 40;
      }
      if (runRow >= 5) points += 3 + runRow - 5;
      if (runCol >= 5) points += 3 + runCol - 5;
    }
    let darkCount = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (dark[y][x]) darkCount++;
        if (y < size - 1 && x < size - 1) {
          const n = dark[y][x] + dark[y][x + 1] + dark[y + 1][x] + dark[y + 1][x + 1];
          if (n === 0 || n === 4) points += 3;
        }
      }
    }
    points += Math.abs(Math.ceil((darkCount * 100) / (size * size) / 5) - 10) * 10;
    return points;
  }
}

/**
 * encode makes the QR code of text: {version, mask, size, modules}, where
 * modules[y][x] is true for a dark module. options.mask (0–7) forces a
 * mask instead of the one with the least penalty.
 */
export function encode(text, options = {}) {
  const { ver, data } = dataBytes(text);
  const m = new Matrix(ver);
  m.functionPatterns();
  m.place(codewords(data, ver));
  let best = options.mask;
  if (best === undefined) {
    let least = Infinity;
    for (let k = 0; k < 8; k++) {
      m.mask(k);
      m.format(k);
      const p = m.penalty();
      if (p < least) { least = p; best = k; }
      m.mask(k); // masking twice undoes it
    }
  }
  m.mask(best);
  m.format(best);
  return { version: ver, mask: best, size: m.size, modules: m.dark };
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * svg draws a QR code as an SVG element (built with DOM calls: the page's
 * CSP allows no inline style), with a 4-module quiet zone, labelled for
 * screen readers.
 */
export function svg(qr, label) {
  const border = 4;
  const n = qr.size + border * 2;
  const el = document.createElementNS(SVG, 'svg');
  el.setAttribute('viewBox', `0 0 ${n} ${n}`);
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', label);
  el.setAttribute('shape-rendering', 'crispEdges');
  el.setAttribute('class', 'qr');
  const bg = document.createElementNS(SVG, 'rect');
  bg.setAttribute('width', String(n));
  bg.setAttribute('height', String(n));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVG, 'path');
  const d = [];
  qr.modules.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue;
      let run = 1;
      while (x + run < row.length && row[x + run]) run++;
      d.push(`M${x + border},${y + border}h${run}v1h-${run}z`);
      x += run - 1;
    }
  });
  path.setAttribute('d', d.join(''));
  path.setAttribute('fill', '#000');
  el.append(bg, path);
  return el;
}
