import { describe, expect, it } from 'vitest'
import { fieldErrors, REPOSITORY_RULES, USER_RULES } from './field-errors.js'

const REPO_FIELDS = ['key', 'rclass', 'packageType', 'url', 'includesPattern', 'repositories', 'defaultDeploymentRepo', 'retrievalCachePeriodSecs']

describe('fieldErrors', () => {
  it('splits a validation message into its fields', () => {
    const message = 'invalid repository configuration: url: must be an http or https URL; retrievalCachePeriodSecs: Invalid input: expected number, received string'
    expect(fieldErrors(message, REPO_FIELDS, REPOSITORY_RULES)).toEqual({
      fields: { url: 'must be an http or https URL', retrievalCachePeriodSecs: 'Invalid input: expected number, received string' },
    })
  })

  it('ties messages that name a field without a prefix to it', () => {
    expect(fieldErrors("invalid repository key 'Bad Key': use 2 to 64 characters", REPO_FIELDS, REPOSITORY_RULES).fields.key).toMatch(/^invalid repository key/)
    expect(fieldErrors("repository key 'api' is reserved", REPO_FIELDS, REPOSITORY_RULES).fields.key).toBeDefined()
    expect(fieldErrors("repository 'x' already exists", REPO_FIELDS, REPOSITORY_RULES).fields.key).toBeDefined()
    expect(fieldErrors("packageType 'cargo' is not supported (supported: generic)", REPO_FIELDS, REPOSITORY_RULES).fields.packageType).toBeDefined()
    expect(fieldErrors("rclass 'remote' is not supported for packageType 'generic'", REPO_FIELDS, REPOSITORY_RULES).fields.rclass).toBeDefined()
  })

  it('keeps a prefix on a field the form does not have as a general message', () => {
    expect(fieldErrors('body: expected object', REPO_FIELDS, REPOSITORY_RULES)).toEqual({ fields: {}, general: 'body: expected object' })
  })

  it('nested paths count for their top-level field', () => {
    expect(fieldErrors('repositories.0: expected string', REPO_FIELDS).fields.repositories).toBe('expected string')
  })

  it('user messages', () => {
    const fields = ['name', 'email', 'password']
    expect(fieldErrors('a password needs at least 8 characters', fields, USER_RULES).fields.password).toBeDefined()
    expect(fieldErrors('something else went wrong', fields, USER_RULES)).toEqual({ fields: {}, general: 'something else went wrong' })
  })
})
