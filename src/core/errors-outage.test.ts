import { describe, expect, it } from 'vitest'
import { TroveError, outageOf } from './errors.js'

describe('outageOf', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

  it('turns an unreachable store into UNAVAILABLE (503), keeping the cause', () => {
    for (const err of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('connection failure', '08006'),
      new Error('query failed', { cause: withCode('read ECONNRESET', 'ECONNRESET') }),
    ]) {
      const outage = outageOf(err)
      expect(outage, err.message).toBeInstanceOf(TroveError)
      expect(outage!.code).toBe('UNAVAILABLE')
      expect(outage!.status).toBe(503)
      expect(outage!.cause).toBe(err)
    }
  })

  it('leaves bugs, bad input and typed errors alone', () => {
    expect(outageOf(new TypeError('x is undefined'))).toBeUndefined()
    expect(outageOf(withCode('duplicate key value violates unique constraint', '23505'))).toBeUndefined()
    expect(outageOf(new TroveError('NOT_FOUND', 'no such file'))).toBeUndefined()
    expect(outageOf(new TroveError('UPSTREAM_UNAVAILABLE', 'upstream down', undefined, { cause: withCode('refused', 'ECONNREFUSED') }))).toBeUndefined()
    expect(outageOf('a string')).toBeUndefined()
  })
})
