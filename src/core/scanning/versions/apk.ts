/**
 * Alpine's version ordering, after apk-tools' `apk_version_compare`: a tokenizer over digits,
 * letters, `_suffix[N]` (pre-release `alpha beta pre rc` sort below the release, post-release
 * `cvs svn git hg p` above) and the package release `-rN`. Leading zeros after a dot make the
 * component compare as a fraction (`1.01` < `1.1`), as apk does.
 */
export function compareApk(a: string, b: string): number {
  const ta = new Tokenizer(a)
  const tb = new Tokenizer(b)
  let av = 0
  let bv = 0
  while (ta.type === tb.type && ta.type !== T.END && ta.type !== T.INVALID && av === bv) {
    av = ta.get()
    bv = tb.get()
  }
  if (av < bv) return -1
  if (av > bv) return 1
  if (ta.type === tb.type) return 0
  // Equal so far: the longer version is greater, unless what it has more is a pre-release suffix.
  if (ta.type === T.SUFFIX && ta.peekSuffix() < 0) return -1
  if (tb.type === T.SUFFIX && tb.peekSuffix() < 0) return 1
  if (ta.type > tb.type) return -1
  if (tb.type > ta.type) return 1
  return 0
}

const enum T {
  INVALID = -1,
  DIGIT_OR_ZERO = 0,
  DIGIT = 1,
  LETTER = 2,
  SUFFIX = 3,
  SUFFIX_NO = 4,
  REVISION_NO = 5,
  END = 6,
}

const PRE_SUFFIXES = ['alpha', 'beta', 'pre', 'rc']
const POST_SUFFIXES = ['cvs', 'svn', 'git', 'hg', 'p']

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9'
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z'

class Tokenizer {
  type: T = T.DIGIT
  private pos = 0

  constructor(private readonly text: string) {}

  private get rest(): number {
    return this.text.length - this.pos
  }

  private next(): void {
    let n: T = T.INVALID
    const c = this.text[this.pos]
    if (this.rest <= 0) n = T.END
    else if ((this.type === T.DIGIT || this.type === T.DIGIT_OR_ZERO) && isLower(c)) n = T.LETTER
    else if (this.type === T.LETTER && isDigit(c)) n = T.DIGIT
    else if (this.type === T.SUFFIX && isDigit(c)) n = T.SUFFIX_NO
    else {
      if (c === '.') n = T.DIGIT_OR_ZERO
      else if (c === '_') n = T.SUFFIX
      else if (c === '-' && this.text[this.pos + 1] === 'r') {
        n = T.REVISION_NO
        this.pos++
      }
      this.pos++
    }
    if (n < this.type) {
      const isAllowed =
        (n === T.DIGIT_OR_ZERO && this.type === T.DIGIT) ||
        (n === T.SUFFIX && this.type === T.SUFFIX_NO) ||
        (n === T.DIGIT && this.type === T.LETTER)
      if (!isAllowed) n = T.INVALID
    }
    this.type = n
  }

  /** The suffix's value without consuming it (negative: a pre-release suffix). */
  peekSuffix(): number {
    const saved = { type: this.type, pos: this.pos }
    const v = this.get()
    this.type = saved.type
    this.pos = saved.pos
    return v
  }

  get(): number {
    if (this.rest <= 0) {
      this.type = T.END
      return 0
    }
    let v = 0
    let i = 0
    let nextType: T = T.INVALID
    const at = (k: number) => this.text[this.pos + k]
    switch (this.type) {
      case T.DIGIT_OR_ZERO:
        if (at(0) === '0') {
          while (i < this.rest && at(i) === '0') i++
          nextType = T.DIGIT
          v = -i
          break
        }
      // falls through: a component that does not start with 0 is an ordinary number
      case T.DIGIT:
      case T.SUFFIX_NO:
      case T.REVISION_NO:
        while (i < this.rest && isDigit(at(i))) {
          v = v * 10 + (at(i)!.charCodeAt(0) - 48)
          i++
        }
        break
      case T.LETTER:
        v = at(0)!.charCodeAt(0)
        i = 1
        break
      case T.SUFFIX: {
        const rest = this.text.slice(this.pos)
        const pre = PRE_SUFFIXES.findIndex((s) => rest.startsWith(s))
        if (pre >= 0) {
          i = PRE_SUFFIXES[pre]!.length
          v = pre - PRE_SUFFIXES.length
          break
        }
        const post = POST_SUFFIXES.findIndex((s) => rest.startsWith(s))
        if (post >= 0) {
          i = POST_SUFFIXES[post]!.length
          v = post
          break
        }
        this.type = T.INVALID
        return -1
      }
      default:
        this.type = T.INVALID
        return -1
    }
    this.pos += i
    if (this.rest <= 0) this.type = T.END
    else if (nextType !== T.INVALID) this.type = nextType
    else this.next()
    return v
  }
}
