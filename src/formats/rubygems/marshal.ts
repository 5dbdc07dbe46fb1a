/**
 * Ruby's Marshal format 4.8, the subset RubyGems' legacy indexes use (`specs.4.8.gz`,
 * `quick/Marshal.4.8/*.gemspec.rz`): nil, true, false, integers, UTF-8 and binary strings,
 * symbols, arrays, hashes, plain objects (`o`), objects with `marshal_dump` (`U`) and with
 * `_dump` (`u`). Written from the format's description in Ruby's doc/marshal.rdoc; values are
 * plain JavaScript data plus the tagged classes below.
 */

/** A Ruby symbol (`:runtime`). */
export class RubySymbol {
  constructor(readonly name: string) {}
}
/** A binary (ASCII-8BIT) string: written without an encoding. */
export class RubyBytes {
  constructor(readonly bytes: Buffer) {}
}
/** An object whose class defines `marshal_dump` (`Gem::Version`, `Gem::Requirement`): its class and the dumped data. */
export class RubyUserMarshal {
  constructor(
    readonly className: string,
    readonly data: RubyValue,
  ) {}
}
/** An object whose class defines `_dump` (`Gem::Specification`): its class and the dumped bytes. */
export class RubyUserDump {
  constructor(
    readonly className: string,
    readonly bytes: Buffer,
  ) {}
}
/** A plain object: its class and its instance variables by name, with their `@`. */
export class RubyObject {
  constructor(
    readonly className: string,
    readonly ivars: ReadonlyMap<string, RubyValue>,
  ) {}
}
/** A Hash, in its order. */
export class RubyHash {
  constructor(readonly entries: readonly (readonly [RubyValue, RubyValue])[]) {}
}

export type RubyValue = null | boolean | number | string | RubySymbol | RubyBytes | RubyUserMarshal | RubyUserDump | RubyObject | RubyHash | readonly RubyValue[]

/** Marshal.dump of `value`. */
export function marshalDump(value: RubyValue): Buffer {
  const writer = new Writer()
  writer.raw(Buffer.from([4, 8]))
  writer.value(value)
  return writer.bytes()
}

class Writer {
  private readonly chunks: Buffer[] = []
  private readonly symbols = new Map<string, number>()

  bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }

  raw(bytes: Buffer): void {
    this.chunks.push(bytes)
  }

  private byte(...codes: number[]): void {
    this.chunks.push(Buffer.from(codes))
  }

  private type(char: string): void {
    this.byte(char.charCodeAt(0))
  }

  /** Marshal's packed integer (w_long). */
  private long(n: number): void {
    if (!Number.isInteger(n) || n > 0x3fffffff || n < -0x40000000) throw new RangeError(`${n} is not a Marshal fixnum this writer supports`)
    if (n === 0) return this.byte(0)
    if (n > 0 && n < 123) return this.byte(n + 5)
    if (n < 0 && n > -124) return this.byte((n - 5) & 0xff)
    const out: number[] = []
    let rest = n
    for (let i = 0; i < 4; i++) {
      out.push(rest & 0xff)
      rest >>= 8
      if ((n >= 0 && rest === 0) || (n < 0 && rest === -1)) break
    }
    this.byte(n >= 0 ? out.length : 256 - out.length, ...out)
  }

  private blob(bytes: Buffer): void {
    this.long(bytes.length)
    this.raw(bytes)
  }

  symbol(name: string): void {
    const known = this.symbols.get(name)
    if (known !== undefined) {
      this.type(';')
      return this.long(known)
    }
    this.symbols.set(name, this.symbols.size)
    this.type(':')
    this.blob(Buffer.from(name, 'utf8'))
  }

  value(value: RubyValue): void {
    if (value === null) return this.type('0')
    if (value === true) return this.type('T')
    if (value === false) return this.type('F')
    if (typeof value === 'number') {
      this.type('i')
      return this.long(value)
    }
    if (typeof value === 'string') {
      // A UTF-8 string: the bytes, then the encoding as the ivar `E` (true: UTF-8).
      this.type('I')
      this.type('"')
      this.blob(Buffer.from(value, 'utf8'))
      this.long(1)
      this.symbol('E')
      return this.type('T')
    }
    if (value instanceof RubySymbol) return this.symbol(value.name)
    if (value instanceof RubyBytes) {
      this.type('"')
      return this.blob(value.bytes)
    }
    if (value instanceof RubyUserMarshal) {
      this.type('U')
      this.symbol(value.className)
      return this.value(value.data)
    }
    if (value instanceof RubyUserDump) {
      this.type('u')
      this.symbol(value.className)
      return this.blob(value.bytes)
    }
    if (value instanceof RubyObject) {
      this.type('o')
      this.symbol(value.className)
      this.long(value.ivars.size)
      for (const [name, ivar] of value.ivars) {
        this.symbol(name)
        this.value(ivar)
      }
      return
    }
    if (value instanceof RubyHash) {
      this.type('{')
      this.long(value.entries.length)
      for (const [k, v] of value.entries) {
        this.value(k)
        this.value(v)
      }
      return
    }
    this.type('[')
    this.long(value.length)
    for (const item of value) this.value(item)
  }
}

/** Marshal.load of `bytes`, for the subset above; anything else (floats, bignums, regexps, classes) throws. */
export function marshalLoad(bytes: Buffer, maxDepth = 64): RubyValue {
  const reader = new Reader(bytes, maxDepth)
  return reader.document()
}

class Reader {
  private at = 0
  private readonly symbols: string[] = []
  private readonly objects: RubyValue[] = []

  constructor(
    private readonly bytes: Buffer,
    private readonly maxDepth: number,
  ) {}

  document(): RubyValue {
    if (this.bytes.length < 2 || this.bytes[0] !== 4 || this.bytes[1] !== 8) throw new Error('not Ruby Marshal 4.8 data')
    this.at = 2
    const value = this.value(0)
    if (this.at !== this.bytes.length) throw new Error('trailing bytes after the Marshal data')
    return value
  }

  private byte(): number {
    if (this.at >= this.bytes.length) throw new Error('Marshal data ends early')
    return this.bytes[this.at++]!
  }

  private long(): number {
    const c = (this.byte() << 24) >> 24
    if (c === 0) return 0
    if (c > 4) return c - 5
    if (c < -4) return c + 5
    let n = 0
    const size = Math.abs(c)
    for (let i = 0; i < size; i++) n += this.byte() * 256 ** i
    if (c < 0) n -= 256 ** size
    return n
  }

  private blob(): Buffer {
    const length = this.long()
    if (length < 0 || this.at + length > this.bytes.length) throw new Error('Marshal data ends early')
    const out = this.bytes.subarray(this.at, this.at + length)
    this.at += length
    return out
  }

  private symbolValue(): string {
    const type = String.fromCharCode(this.byte())
    if (type === ':') {
      const name = this.blob().toString('utf8')
      this.symbols.push(name)
      return name
    }
    if (type === ';') {
      const name = this.symbols[this.long()]
      if (name === undefined) throw new Error('a symbol link to no symbol')
      return name
    }
    throw new Error(`a symbol was expected, not '${type}'`)
  }

  private remember<T extends RubyValue>(index: number, value: T): T {
    this.objects[index] = value
    return value
  }

  private value(depth: number): RubyValue {
    if (depth > this.maxDepth) throw new Error('Marshal data nested too deeply')
    const type = String.fromCharCode(this.byte())
    switch (type) {
      case '0':
        return null
      case 'T':
        return true
      case 'F':
        return false
      case 'i':
        return this.long()
      case ':':
      case ';':
        this.at--
        return new RubySymbol(this.symbolValue())
      case '@': {
        const index = this.long()
        if (index >= this.objects.length) throw new Error('an object link to no object')
        return this.objects[index]!
      }
      case '"': {
        const index = this.objects.push(null) - 1
        return this.remember(index, new RubyBytes(Buffer.from(this.blob())))
      }
      case 'I': {
        const index = this.objects.length
        let inner = this.value(depth + 1)
        const count = this.long()
        for (let i = 0; i < count; i++) {
          const name = this.symbolValue()
          const ivar = this.value(depth + 1)
          // The encoding of a string: E true (UTF-8), E false (US-ASCII) or `encoding` by name.
          if (inner instanceof RubyBytes && (name === 'E' || name === 'encoding') && ivar !== null) inner = inner.bytes.toString('utf8')
        }
        return this.remember(index, inner)
      }
      case '[': {
        const index = this.objects.push(null) - 1
        const count = this.long()
        const items: RubyValue[] = []
        for (let i = 0; i < count; i++) items.push(this.value(depth + 1))
        return this.remember(index, items)
      }
      case '{': {
        const index = this.objects.push(null) - 1
        const count = this.long()
        const entries: [RubyValue, RubyValue][] = []
        for (let i = 0; i < count; i++) entries.push([this.value(depth + 1), this.value(depth + 1)])
        return this.remember(index, new RubyHash(entries))
      }
      case 'o': {
        const index = this.objects.push(null) - 1
        const className = this.symbolValue()
        const count = this.long()
        const ivars = new Map<string, RubyValue>()
        for (let i = 0; i < count; i++) ivars.set(this.symbolValue(), this.value(depth + 1))
        return this.remember(index, new RubyObject(className, ivars))
      }
      case 'U': {
        const index = this.objects.push(null) - 1
        const className = this.symbolValue()
        return this.remember(index, new RubyUserMarshal(className, this.value(depth + 1)))
      }
      case 'u': {
        const index = this.objects.push(null) - 1
        const className = this.symbolValue()
        return this.remember(index, new RubyUserDump(className, Buffer.from(this.blob())))
      }
      default:
        throw new Error(`Marshal type '${type}' is not supported here`)
    }
  }
}
