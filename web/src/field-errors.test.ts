import { describe, expect, it } from 'vitest'
import { ApiError } from './api.js'
import { fieldErrors } from './field-errors.js'

const FIELDS = ['key', 'rclass', 'packageType', 'url', 'repositories', 'offline', 'handleSnapshots']
const refused = (...errors: { message: string; field?: string; code?: string }[]) =>
  new ApiError(400, errors.map((e) => e.message).join('; '), errors.map((e) => ({ status: 400, code: 'BAD_REQUEST', ...e })))

describe('fieldErrors', () => {
  it('places each entry next to the field the API names, whatever its message says', () => {
    const error = refused({ field: 'url', message: 'must be an http or https URL' }, { field: 'offline', message: 'says nothing about its field' })
    expect(fieldErrors(error, FIELDS)).toEqual({ fields: { url: 'must be an http or https URL', offline: 'says nothing about its field' } })
  })

  it('never reads a message to find a field: one that names a field but has none goes above the form', () => {
    expect(fieldErrors(refused({ message: 'url: must be an http or https URL' }), FIELDS)).toEqual({ fields: {}, general: 'url: must be an http or https URL' })
  })

  it('an element of a list counts for the list, and two problems of one field are both shown', () => {
    const error = refused({ field: 'repositories[1]', message: "'b' does not exist" }, { field: 'repositories[0]', message: "'a' is a maven repository" })
    expect(fieldErrors(error, FIELDS).fields.repositories).toBe("'b' does not exist; 'a' is a maven repository")
  })

  it('a field the form does not have goes above the form, with what names no field', () => {
    const error = refused({ field: 'projectKey', message: 'projectKey cannot be changed' }, { field: 'key', message: 'invalid key' }, { message: 'the body must be a JSON object' })
    expect(fieldErrors(error, FIELDS)).toEqual({ fields: { key: 'invalid key' }, general: 'projectKey cannot be changed; the body must be a JSON object' })
  })

  it('an answer without REST error entries (a proxy, the network) is shown above the form', () => {
    expect(fieldErrors(new ApiError(0, 'Trove did not answer'), FIELDS)).toEqual({ fields: {}, general: 'Trove did not answer' })
    expect(fieldErrors(new Error('boom'), FIELDS)).toEqual({ fields: {}, general: 'boom' })
  })
})
